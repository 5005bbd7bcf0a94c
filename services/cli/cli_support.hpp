#pragma once

// Internal to services/cli: the text, JSON and output helpers of `keyledger keys`, and its
// session with the server (one API key, the HTTP client, errors as one line for stderr).

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "infra/http/client.hpp"
#include "infra/json/json.hpp"

namespace keyledger::services::cli {

/// The API version the CLI speaks (the Keyledger-Version header it sends).
inline constexpr std::string_view api_version = "2026-11-23";

/// Server-provided text goes to a terminal: control characters (C0, DEL and UTF-8 encoded C1,
/// which terminals treat as escape sequences) become '?'.
std::string printable(std::string_view s);

/// Removes every occurrence of `secret` (defence in depth: a proxy might echo a header).
std::string redact(std::string text, std::string_view secret);

/// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view s);

/// Code points in valid UTF-8 (close enough to the display width for names and ids).
std::size_t display_width(std::string_view s);

/// "2026-11-23T19:36:02.123456Z" -> "2026-11-23 19:36" (UTC); anything else as it is.
std::string short_time(std::string_view t);

/// A server's answer goes through the same parser entry as a request body, with an answer's
/// limits; nullopt when it is not one JSON object within them.
std::optional<infra::json_body> parse_json(const std::string& body);

/// A string member, or nullopt when it is absent, null or not a string.
std::optional<std::string> string_of(const infra::json_body& object, std::string_view name);

/// An array of strings, or none when it is absent or not an array of strings.
std::vector<std::string> strings_of(const infra::json_body& object, std::string_view name);

std::string join(const std::vector<std::string>& items, std::string_view separator);

/// The key's status, with the reason a disabled key is disabled when it is not just the
/// enabled flag ("disabled (owner removed)").
std::string status_text(const infra::json_body& key);

/// Columns separated by two spaces, each as wide as its widest cell; no trailing spaces.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

std::vector<std::string> key_row(const infra::json_body& key);

/// The column titles of key_row.
const std::vector<std::string>& table_header();

/// An answer that is not the expected success, as one line for stderr.
std::string describe_failure(const infra::client_response& r);

std::optional<infra::json_body> parse_success(const infra::client_response& r, std::ostream& err);

void print_raw(std::ostream& out, const std::string& body, std::string_view api_key);

class api_session {
 public:
  api_session(infra::http_endpoint endpoint, std::string api_key,
              infra::http_client_options options)
      : client_(std::move(endpoint), std::move(options)), api_key_(std::move(api_key)) {}

  /// The answer, or nullopt after printing why there is none (transport failure) or why it
  /// is not a success (the API's error code and message).
  std::optional<infra::client_response> call(std::string method, std::string target,
                                             std::string body, std::ostream& err) {
    infra::client_request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.headers = {{"Authorization", "Bearer " + api_key_},
                   {"Keyledger-Version", std::string(api_version)},
                   {"Accept", "application/json"}};
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
    auto r = client_.send(req);
    if (!r) {
      err << "keyledger: " << redact(r.error().message, api_key_) << "\n";
      return std::nullopt;
    }
    if (r->status < 200 || r->status > 299) {
      err << redact(describe_failure(r.value()), api_key_) << "\n";
      return std::nullopt;
    }
    return std::move(r.value());
  }

  const std::string& api_key() const { return api_key_; }

 private:
  infra::http_client client_;
  std::string api_key_;
};

}  // namespace keyledger::services::cli

#include "services/cli/cli_support.hpp"

#include <algorithm>
#include <cstdint>
#include <sstream>

#include "domain/text.hpp"

namespace keyledger::services::cli {

// ---- text helpers ---------------------------------------------------------------------------

/// Server-provided text goes to a terminal: control characters (C0, DEL and UTF-8 encoded C1,
/// which terminals treat as escape sequences) become '?'.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// Removes every occurrence of `secret` (defence in depth: a proxy might echo a header).
std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "[redacted]");
  }
  return text;
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

/// Code points in valid UTF-8 (close enough to the display width for names and ids).
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

/// "2026-11-23T19:36:02.123456Z" -> "2026-11-23 19:36" (UTC); anything else as it is.
std::string short_time(std::string_view t) {
  if (t.size() >= 17 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':') {
    return std::string(t.substr(0, 10)) + " " + std::string(t.substr(11, 5));
  }
  return printable(t);
}

// ---- JSON answers ---------------------------------------------------------------------------

/// A server's answer goes through the same parser entry as a request body, with an answer's
/// limits; nullopt when it is not one JSON object within them.
std::optional<infra::json_body> parse_json(const std::string& body) {
  auto doc = infra::json_body::parse(body, infra::response_json_limits);
  if (!doc) return std::nullopt;
  return std::move(doc).value();
}

/// A string member, or nullopt when it is absent, null or not a string.
std::optional<std::string> string_of(const infra::json_body& object, std::string_view name) {
  auto v = object.get_string(name);
  return v ? std::move(v).value() : std::nullopt;
}

/// An array of strings, or none when it is absent or not an array of strings.
std::vector<std::string> strings_of(const infra::json_body& object, std::string_view name) {
  auto v = object.get_string_array(name);
  if (!v || !v.value()) return {};
  return std::move(*std::move(v).value());
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

/// The key's status, with the reason a disabled key is disabled when it is not just the
/// enabled flag ("disabled (owner removed)").
std::string status_text(const infra::json_body& key) {
  auto status = string_of(key, "status").value_or("?");
  const auto reason = string_of(key, "disabled_reason");
  if (status == "disabled" && reason && *reason != "disabled") {
    auto shown = *reason;
    std::replace(shown.begin(), shown.end(), '_', ' ');
    status += " (" + shown + ")";
  }
  return printable(status);
}

// ---- output ---------------------------------------------------------------------------------

/// Columns separated by two spaces, each as wide as its widest cell; no trailing spaces.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    out << line << '\n';
  }
}

std::vector<std::string> key_row(const infra::json_body& key) {
  const auto expires = string_of(key, "expires_at");
  const auto last_used = string_of(key, "last_used_at");
  return {
      printable(string_of(key, "id").value_or("?")),
      printable(string_of(key, "name").value_or("")),
      printable(string_of(key, "environment").value_or("?")),
      status_text(key),
      printable(string_of(key, "start").value_or("")),
      short_time(string_of(key, "created_at").value_or("")),
      expires ? short_time(*expires) : "never",
      last_used ? short_time(*last_used) : "never",
  };
}

const std::vector<std::string>& table_header() {
  static const std::vector<std::string> header = {"ID",    "NAME",    "ENV",     "STATUS",
                                                  "START", "CREATED", "EXPIRES", "LAST USED"};
  return header;
}

// ---- talking to the server ------------------------------------------------------------------

/// An answer that is not the expected success, as one line for stderr.
std::string describe_failure(const infra::client_response& r) {
  std::string line = "keyledger: the server answered " + std::to_string(r.status);
  const auto doc = parse_json(r.body);
  const auto code = doc ? string_of(*doc, "code") : std::nullopt;
  if (!code) return line + " (not a keyledger API error; is KEYLEDGER_URL the keyledger server?)";
  line += " " + printable(*code);
  if (auto message = string_of(*doc, "message")) line += ": " + printable(*message);
  if (const auto retry_after = doc->get_int("retry_after"); retry_after && *retry_after.value()) {
    line += " (retry after " + std::to_string(*retry_after.value()) + " s)";
  }
  if (auto request_id = string_of(*doc, "request_id")) {
    line += " [request " + printable(*request_id) + "]";
  }
  return line;
}

std::optional<infra::json_body> parse_success(const infra::client_response& r, std::ostream& err) {
  auto doc = parse_json(r.body);
  if (!doc) {
    err << "keyledger: the server's answer (" << r.status << ") is not a JSON object\n";
  }
  return doc;
}

void print_raw(std::ostream& out, const std::string& body, std::string_view api_key) {
  out << redact(body, api_key);
  if (body.empty() || body.back() != '\n') out << '\n';
}

}  // namespace keyledger::services::cli

#include "services/http/oauth/oauth_form.hpp"

#include <algorithm>

#include "domain/encoding.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/http/router/form.hpp"

namespace keyledger::services::http {
namespace {

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char ch) { return ch < 0x20 || ch == 0x7F; });
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (domain::is_ascii_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string_view> oauth_form::get(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return std::nullopt;
}

bool oauth_form::twice(std::string_view name) const {
  return std::find(duplicated.begin(), duplicated.end(), name) != duplicated.end();
}

domain::result<oauth_form, domain::problem> parse_oauth_form(std::string_view text,
                                                             std::size_t max_fields) {
  oauth_form out;
  // A token or introspection request has three to five parameters: one allocation.
  out.fields.reserve(std::min<std::size_t>(max_fields, 8));
  std::size_t parts = 0;
  while (!text.empty()) {
    const auto end = std::min(text.find('&'), text.size());
    const auto part = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (part.empty()) continue;
    if (++parts > max_fields) return oauth_problem("invalid_request", "too many parameters");
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(part.substr(eq + 1));
    if (!name || !value) {
      return oauth_problem("invalid_request", "the parameters are not correctly percent-encoded");
    }
    if (has_control(*name) || has_control(*value)) {
      return oauth_problem("invalid_request", "a parameter contains control characters");
    }
    // Sent without a value: as if omitted (RFC 6749 3.1).
    if (value->empty()) continue;
    if (out.get(*name)) {
      if (!out.twice(*name)) out.duplicated.push_back(*name);
      continue;
    }
    out.fields.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace keyledger::services::http

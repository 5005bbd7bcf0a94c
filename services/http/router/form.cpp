#include "services/http/router/form.hpp"

#include <algorithm>
#include <cctype>

#include "domain/encoding.hpp"
#include "domain/text.hpp"

namespace keyledger::services::http {

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = domain::hex_value(s[i + 1]);
      const int lo = domain::hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

domain::result<form_fields, domain::problem> parse_form(std::string_view text,
                                                        std::span<const std::string_view> known,
                                                        form_source source,
                                                        std::size_t max_fields) {
  using domain::problem;
  const bool query = source == form_source::query;
  // A view: the text is made only for an error (every request parses its query).
  const std::string_view noun = query ? "query parameter " : "form field ";
  form_fields out;
  while (!text.empty()) {
    const auto end = std::min(text.find('&'), text.size());
    const auto part = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(part.substr(eq + 1));
    if (!name || !value) {
      return problem::invalid("", query ? "the query string is not correctly percent-encoded"
                                        : "the form body is not correctly percent-encoded");
    }
    if (std::find(known.begin(), known.end(), *name) == known.end()) {
      return problem{domain::problem_kind::invalid, "UNKNOWN_FIELD", "",
                     "unknown " + std::string(noun) + domain::echoable_name(*name)};
    }
    for (const auto& [seen, unused] : out) {
      if (seen == *name) {
        return problem::invalid(
            *name, std::string(noun) + domain::echoable_name(*name) + " is given more than once");
      }
    }
    const bool control = std::any_of(value->begin(), value->end(),
                                     [](unsigned char ch) { return ch < 0x20 || ch == 0x7F; });
    if (control) {
      return problem::invalid(
          *name, std::string(noun) + domain::echoable_name(*name) + " contains control characters");
    }
    if (out.size() >= max_fields) {
      return problem::invalid("", query ? "too many query parameters" : "too many form fields");
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace keyledger::services::http

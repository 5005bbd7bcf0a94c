#include "domain/keys/leak_report.hpp"

#include <algorithm>

#include "domain/encoding.hpp"
#include "domain/keys/key_scan.hpp"

namespace keyledger::domain {

std::string_view to_string(leak_action a) noexcept {
  return a == leak_action::disable ? "disable" : "revoke";
}

std::optional<leak_action> parse_leak_action(std::string_view text) noexcept {
  if (text == "revoke") return leak_action::revoke;
  if (text == "disable") return leak_action::disable;
  return std::nullopt;
}

std::string_view to_string(leak_response r) noexcept {
  switch (r) {
    case leak_response::revoked:
      return "revoked";
    case leak_response::disabled:
      return "disabled";
    case leak_response::none:
      return "none";
  }
  return "none";
}

std::optional<leak_response> parse_leak_response(std::string_view text) noexcept {
  if (text == "revoked") return leak_response::revoked;
  if (text == "disabled") return leak_response::disabled;
  if (text == "none") return leak_response::none;
  return std::nullopt;
}

bool valid_leak_url(std::string_view url) noexcept {
  return url.size() <= max_leak_url_length &&
         std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool valid_leak_source(std::string_view source) noexcept {
  return !source.empty() && source.size() <= max_leak_source_length &&
         std::all_of(source.begin(), source.end(),
                     [](char c) { return is_ascii_alnum(c) || c == '_' || c == '-'; });
}

bool valid_leak_type(std::string_view type) noexcept {
  return !type.empty() && type.size() <= max_leak_type_length &&
         std::all_of(type.begin(), type.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string recorded_leak_url(std::string_view url) {
  return contains_key(url) ? std::string() : std::string(url);
}

}  // namespace keyledger::domain

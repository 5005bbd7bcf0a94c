#include "domain/cursor.hpp"

#include <algorithm>
#include <charconv>

#include "domain/encoding.hpp"

namespace keyledger::domain {
namespace {

constexpr std::size_t max_cursor_text = 256;

bool plausible_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string plain_text(std::string_view list, const page_position& p) {
  std::string out;
  if (!list.empty()) out.append(list).push_back('.');
  out += std::to_string(p.at);
  out.push_back('.');
  out += p.id;
  return out;
}

}  // namespace

std::string encode_page_cursor(std::string_view list, const page_position& p) {
  return base64url_encode(plain_text(list, p));
}

std::optional<page_position> decode_page_cursor(std::string_view list, std::string_view text) {
  if (text.empty() || text.size() > max_cursor_text) return std::nullopt;
  const auto raw = base64url_decode(text);
  if (!raw) return std::nullopt;
  std::string_view rest(*raw);
  if (!list.empty()) {
    if (rest.size() <= list.size() || rest.substr(0, list.size()) != list ||
        rest[list.size()] != '.') {
      return std::nullopt;
    }
    rest.remove_prefix(list.size() + 1);
  }
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  page_position p;
  const auto number = rest.substr(0, dot);
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), p.at);
  if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
  p.id = std::string(rest.substr(dot + 1));
  if (!plausible_id(p.id)) return std::nullopt;
  // Only the canonical form is accepted ("+5", "05", "-0"...).
  if (plain_text(list, p) != *raw) return std::nullopt;
  return p;
}

}  // namespace keyledger::domain

#include "domain/keys/key_scan.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "domain/encoding.hpp"
#include "domain/keys/key_format.hpp"

namespace keyledger::domain {

namespace {

constexpr std::size_t max_prefix_length = 10;
constexpr std::size_t min_prefix_length = 2;

bool is_prefix_char(char c) noexcept { return is_ascii_lower(c) || is_ascii_digit(c); }

// The key whose "_<env>_" separator starts at `separator`, if any: the body is the next 38
// characters; the prefix is tried from the shortest ([a-z][a-z0-9]{1,9} ending there) up.
std::optional<found_key> key_at(std::string_view text, std::size_t separator,
                                std::size_t env_length) {
  const std::size_t body_start = separator + env_length + 2;
  if (body_start + key_body_length > text.size()) return std::nullopt;
  for (std::size_t len = min_prefix_length; len <= max_prefix_length && len <= separator; ++len) {
    const std::size_t start = separator - len;
    if (!is_prefix_char(text[start])) break;
    if (!is_ascii_lower(text[start])) continue;
    const std::size_t length = body_start + key_body_length - start;
    if (parse_key(text.substr(start, length)).ok()) return found_key{start, length};
  }
  return std::nullopt;
}

}  // namespace

std::vector<found_key> find_keys(std::string_view text) {
  static constexpr std::array<std::string_view, 2> separators = {"_live_", "_test_"};
  std::vector<found_key> found;
  // The next occurrence of each separator at or after `from`, searched again only once `from`
  // has passed it: searching both afresh at every step made a text with many separators of one
  // environment and none of the other quadratic (each step scanned to the end for the other).
  std::array<std::size_t, separators.size()> next{};
  for (std::size_t i = 0; i < separators.size(); ++i) next[i] = text.find(separators[i]);
  std::size_t from = 0;
  while (from < text.size()) {
    // The nearest separator of either environment.
    std::size_t at = std::string_view::npos;
    std::size_t env_length = 0;
    for (std::size_t i = 0; i < separators.size(); ++i) {
      if (next[i] != std::string_view::npos && next[i] < from) {
        next[i] = text.find(separators[i], from);
      }
      if (next[i] < at) {
        at = next[i];
        env_length = separators[i].size() - 2;
      }
    }
    if (at == std::string_view::npos) break;
    if (auto key = key_at(text, at, env_length);
        key && (found.empty() || key->offset >= found.back().offset + found.back().length)) {
      found.push_back(*key);
      from = key->offset + key->length;
    } else {
      from = at + 1;
    }
  }
  return found;
}

bool contains_key(std::string_view text) { return !find_keys(text).empty(); }

}  // namespace keyledger::domain

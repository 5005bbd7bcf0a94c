#include "domain/keys/key_format.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keyledger::domain {

namespace {

constexpr std::array<std::uint32_t, 256> make_crc32_table() noexcept {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1U) ? (0xEDB88320U ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

// 248 = 4 * 62, the largest multiple of 62 below 256: accepting only bytes below it makes
// b % 62 exactly uniform.
constexpr std::uint8_t base62_accept_below = 248;

bool is_base62(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The checksum as 6 base62 digits, most significant first (62^6 > 2^32, so it always fits).
std::array<char, key_checksum_length> encode_checksum(std::uint32_t crc) noexcept {
  std::array<char, key_checksum_length> out{};
  std::uint64_t value = crc;
  for (std::size_t i = key_checksum_length; i > 0; --i) {
    out[i - 1] = base62_alphabet[value % base62_alphabet.size()];
    value /= base62_alphabet.size();
  }
  return out;
}

}  // namespace

std::string_view to_string(key_format_error e) noexcept {
  switch (e) {
    case key_format_error::empty:
      return "empty";
    case key_format_error::too_long:
      return "too_long";
    case key_format_error::bad_structure:
      return "bad_structure";
    case key_format_error::bad_prefix:
      return "bad_prefix";
    case key_format_error::bad_environment:
      return "bad_environment";
    case key_format_error::bad_body:
      return "bad_body";
    case key_format_error::bad_checksum:
      return "bad_checksum";
  }
  return "unknown";
}

bool valid_key_prefix(std::string_view prefix) noexcept {
  if (prefix.size() < 2 || prefix.size() > 10) return false;
  if (prefix[0] < 'a' || prefix[0] > 'z') return false;
  for (const char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::uint32_t crc32(std::string_view data) noexcept {
  std::uint32_t c = 0xFFFFFFFFU;
  for (const char ch : data) {
    c = crc32_table[(c ^ static_cast<std::uint8_t>(ch)) & 0xFFU] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFU;
}

std::string generate_key(std::string_view prefix, environment env, random_source& random) {
  // A bad prefix is a caller bug (workspaces validate theirs at creation); refuse loudly
  // rather than mint a key that parse_key would never accept.
  if (!valid_key_prefix(prefix)) throw std::invalid_argument("generate_key: invalid prefix");

  const std::string_view env_text = to_string(env);
  std::string key;
  key.reserve(prefix.size() + env_text.size() + 2 + key_body_length);
  key.append(prefix);
  key.push_back('_');
  key.append(env_text);
  key.push_back('_');

  std::array<std::uint8_t, 64> buffer{};
  std::size_t used = buffer.size();
  std::size_t remaining = key_random_length;
  while (remaining > 0) {
    if (used == buffer.size()) {
      random.fill(buffer);
      used = 0;
    }
    const std::uint8_t b = buffer[used++];
    if (b < base62_accept_below) {
      key.push_back(base62_alphabet[b % base62_alphabet.size()]);
      --remaining;
    }
  }
  // The random bytes are secret material: do not leave them on the stack.
  buffer.fill(0);

  const auto checksum = encode_checksum(crc32(key));
  key.append(checksum.data(), checksum.size());
  return key;
}

result<parsed_key, key_format_error> parse_key(std::string_view key) noexcept {
  if (key.empty()) return key_format_error::empty;
  if (key.size() > key_max_length) return key_format_error::too_long;

  // Neither the prefix nor the base62 body can contain '_', so exactly two separators.
  const std::size_t first = key.find('_');
  if (first == std::string_view::npos) return key_format_error::bad_structure;
  const std::size_t second = key.find('_', first + 1);
  if (second == std::string_view::npos) return key_format_error::bad_structure;
  if (key.find('_', second + 1) != std::string_view::npos) return key_format_error::bad_structure;

  const std::string_view prefix = key.substr(0, first);
  const std::string_view env_text = key.substr(first + 1, second - first - 1);
  const std::string_view body = key.substr(second + 1);

  if (!valid_key_prefix(prefix)) return key_format_error::bad_prefix;
  const auto env = parse_environment(env_text);
  if (!env) return key_format_error::bad_environment;
  if (body.size() != key_body_length) return key_format_error::bad_body;
  for (const char c : body) {
    if (!is_base62(c)) return key_format_error::bad_body;
  }

  // Compare as text: a 6-digit value above 2^32 can then never match by wrap-around.
  const std::string_view covered = key.substr(0, key.size() - key_checksum_length);
  const auto expected = encode_checksum(crc32(covered));
  if (body.substr(key_random_length) != std::string_view(expected.data(), expected.size())) {
    return key_format_error::bad_checksum;
  }
  return parsed_key{prefix, *env, body};
}

std::string visible_start(const parsed_key& key) {
  std::string out;
  const std::string_view env_text = to_string(key.env);
  out.reserve(key.prefix.size() + env_text.size() + 2 + key_visible_body_length);
  out.append(key.prefix);
  out.push_back('_');
  out.append(env_text);
  out.push_back('_');
  out.append(key.body.substr(0, key_visible_body_length));
  return out;
}

}  // namespace keyledger::domain

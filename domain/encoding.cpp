#include "domain/encoding.hpp"

namespace keyledger::domain {
namespace {

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// base64url without padding, or (padded) standard base64 with `alphabet` = base64_alphabet.
template <class Byte>
void append_encoded(std::string& out, const Byte* data, std::size_t size,
                    std::string_view alphabet = base64url_alphabet, bool pad = false) {
  const auto at = [data](std::size_t i) {
    return std::uint32_t{static_cast<std::uint8_t>(data[i])};
  };
  out.reserve(out.size() + (size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (const std::size_t rest = size - i; rest > 0) {
    std::uint32_t v = at(i) << 16;
    if (rest == 2) v |= at(i + 1) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.append(3 - rest, '=');
  }
}

template <class Byte>
std::string encode(const Byte* data, std::size_t size,
                   std::string_view alphabet = base64url_alphabet, bool pad = false) {
  std::string out;
  append_encoded(out, data, size, alphabet, pad);
  return out;
}

}  // namespace

bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_keyed_hash(std::string_view text) noexcept {
  constexpr std::size_t sha256_hex_length = 64;
  if (text.size() != sha256_hex_length) return false;
  for (const char c : text) {
    if (!is_ascii_digit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

int base64url_value(char c) noexcept {
  const std::size_t pos = base64url_alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes.data(), bytes.size());
}

std::string base64url_encode(std::string_view bytes) { return encode(bytes.data(), bytes.size()); }

void base64url_append(std::string& out, std::string_view bytes) {
  append_encoded(out, bytes.data(), bytes.size());
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes.data(), bytes.size(), base64_alphabet, true);
}

std::string base64_encode(std::string_view bytes) {
  return encode(bytes.data(), bytes.size(), base64_alphabet, true);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // What is left over must be zero bits: one spelling per byte string.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  std::string url(text.substr(0, text.size() - padding));
  for (char& c : url) {
    // The two alphabets differ in two characters; the url-safe ones are not standard base64.
    if (c == '-' || c == '_') return std::nullopt;
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return base64url_decode(url);
}

}  // namespace keyledger::domain

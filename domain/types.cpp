#include "domain/types.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/encoding.hpp"

namespace keyledger::domain {

namespace {

constexpr std::string_view id_alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t id_random_length = 22;

// 248 is the largest multiple of 62 that fits in a byte: accepting only bytes below it makes
// b % 62 exactly uniform (no modulo bias).
constexpr std::uint8_t base62_accept_below = 248;

void append_random_base62(std::string& out, std::size_t count, random_source& random) {
  std::array<std::uint8_t, 64> buffer{};
  std::size_t used = buffer.size();
  while (count > 0) {
    if (used == buffer.size()) {
      random.fill(buffer);
      used = 0;
    }
    const std::uint8_t b = buffer[used++];
    if (b < base62_accept_below) {
      out.push_back(id_alphabet[b % id_alphabet.size()]);
      --count;
    }
  }
}

void append_digits(std::string& out, long long value, int width) {
  std::array<char, 24> digits{};
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(digits[--n]);
}

// Reads exactly `width` decimal digits at `pos`; nothing else is accepted (no sign, no space).
std::optional<int> read_fixed(std::string_view text, std::size_t pos, std::size_t width) noexcept {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!is_ascii_digit(text[i])) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::string_view to_string(environment env) noexcept {
  switch (env) {
    case environment::live:
      return "live";
    case environment::test:
      return "test";
  }
  return "unknown";
}

std::optional<environment> parse_environment(std::string_view text) noexcept {
  if (text == "live") return environment::live;
  if (text == "test") return environment::test;
  return std::nullopt;
}

std::string format_timestamp(timestamp t) {
  std::string out;
  out.reserve(27);
  append_timestamp(out, t);
  return out;
}

void append_timestamp(std::string& out, timestamp t) {
  using namespace std::chrono;
  // floor (not truncation) so instants before 1970 land on the right day and second.
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> hms{t - day};

  // Years outside 0000-9999 cannot occur for real clocks or parsed input; they are written in
  // ISO 8601 expanded form (sign, more digits), which parse_timestamp deliberately refuses.
  const int y = static_cast<int>(ymd.year());
  if (y < 0) out.push_back('-');
  append_digits(out, y < 0 ? -static_cast<long long>(y) : y, 4);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(ymd.month()), 2);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(ymd.day()), 2);
  out.push_back('T');
  append_digits(out, hms.hours().count(), 2);
  out.push_back(':');
  append_digits(out, hms.minutes().count(), 2);
  out.push_back(':');
  append_digits(out, hms.seconds().count(), 2);
  out.push_back('.');
  append_digits(out, hms.subseconds().count(), 6);
  out.push_back('Z');
}

std::optional<timestamp> parse_timestamp(std::string_view text) noexcept {
  using namespace std::chrono;
  // "YYYY-MM-DDTHH:MM:SS" is 19 characters; then an optional ".f" with 1-6 digits; then 'Z'.
  constexpr std::size_t base_length = 19;
  if (text.size() < base_length + 1 || text.size() > base_length + 1 + 7) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  const auto y = read_fixed(text, 0, 4);
  const auto mo = read_fixed(text, 5, 2);
  const auto d = read_fixed(text, 8, 2);
  const auto h = read_fixed(text, 11, 2);
  const auto mi = read_fixed(text, 14, 2);
  const auto s = read_fixed(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  // No leap seconds: sys_time cannot represent 60, and our own output never has one.
  if (*h > 23 || *mi > 59 || *s > 59) return std::nullopt;

  std::int64_t micros = 0;
  const std::size_t fraction_end = text.size() - 1;
  if (fraction_end > base_length) {
    if (text[base_length] != '.') return std::nullopt;
    const std::size_t digits = fraction_end - base_length - 1;
    if (digits < 1 || digits > 6) return std::nullopt;
    const auto f = read_fixed(text, base_length + 1, digits);
    if (!f) return std::nullopt;
    micros = *f;
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
  }

  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                           day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return timestamp{sys_days{ymd}} + hours{*h} + minutes{*mi} + seconds{*s} + microseconds{micros};
}

std::string new_id(std::string_view tag, random_source& random) {
  std::string out;
  new_id(out, tag, random);
  return out;
}

void new_id(std::string& out, std::string_view tag, random_source& random) {
  out.clear();
  out.reserve(tag.size() + 1 + id_random_length);
  out.append(tag);
  out.push_back('_');
  append_random_base62(out, id_random_length, random);
}

bool valid_id(std::string_view tag, std::string_view id) noexcept {
  const std::size_t prefix = tag.size() + 1;
  if (id.size() != prefix + id_random_length) return false;
  if (id.substr(0, tag.size()) != tag || id[tag.size()] != '_') return false;
  const auto body = id.substr(prefix);
  return std::all_of(body.begin(), body.end(), is_ascii_alnum);
}

std::array<std::uint8_t, 16> new_uuid(random_source& random) {
  std::array<std::uint8_t, 16> bytes{};
  random.fill(bytes);
  // RFC 4122 section 4.4: version 4 in the high nibble of byte 6, variant 10xx in byte 8.
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);
  return bytes;
}

}  // namespace keyledger::domain

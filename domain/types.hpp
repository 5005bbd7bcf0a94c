#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace keyledger::domain {

/// Instants are UTC microseconds; that is the precision PostgreSQL stores.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// Microseconds since the Unix epoch: how instants are stored and sent to the stores.
constexpr std::int64_t to_micros(timestamp t) noexcept { return t.time_since_epoch().count(); }

/// `live` keys touch real data, `test` keys only the sandbox.
enum class environment { live, test };

std::string_view to_string(environment env) noexcept;
/// Accepts exactly "live" or "test".
std::optional<environment> parse_environment(std::string_view text) noexcept;

/// RFC 3339 UTC with microseconds, e.g. "2026-11-23T19:36:02.123456Z".
std::string format_timestamp(timestamp t);
/// The same text appended to `out` (no allocation when `out` has room).
void append_timestamp(std::string& out, timestamp t);

/// Injected time source. Implementations must be thread-safe.
class clock {
 public:
  virtual ~clock() = default;
  virtual timestamp now() const = 0;
};

/// Injected randomness. Production: OpenSSL's CSPRNG (infra/crypto). Implementations must
/// be thread-safe; fill() never returns predictable bytes (it aborts the process instead).
class random_source {
 public:
  virtual ~random_source() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

/// A fresh opaque identifier: `<tag>_` followed by 22 base62 characters (~131 bits).
/// Used for key ids ("key"), workspace ids ("ws") and request ids ("req").
std::string new_id(std::string_view tag, random_source& random);
/// The same, written into `out` (replacing its content, keeping its capacity).
void new_id(std::string& out, std::string_view tag, random_source& random);

/// Whether `id` has the shape new_id(tag, ...) gives: `<tag>_` then exactly 22 base62
/// characters. Checks the shape only, not that the id exists.
bool valid_id(std::string_view tag, std::string_view id) noexcept;

/// A random RFC 4122 version-4 UUID as 16 bytes.
std::array<std::uint8_t, 16> new_uuid(random_source& random);

}  // namespace keyledger::domain

namespace keyledger::domain {
/// Parses exactly the format written by format_timestamp (fraction of 0-6 digits, 'Z').
std::optional<timestamp> parse_timestamp(std::string_view text) noexcept;
}  // namespace keyledger::domain

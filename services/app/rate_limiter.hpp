#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/keys/api_key.hpp"
#include "domain/types.hpp"

namespace keyledger::services {

/// Per-key fixed-window counters, in memory on each node (so with N nodes a key gets up to N
/// times its limit; docs/api.md says so). Thread-safe with striped locks: verifications of
/// different keys rarely contend. Windows are aligned to the Unix epoch.
class rate_limiter {
 public:
  /// Counts one request of `key_id` under `limit` at `now`. Returns 0 if accepted; otherwise
  /// the whole seconds (at least 1) until the current window ends, and nothing is counted.
  std::chrono::seconds try_acquire(std::string_view key_id, const domain::rate_limit& limit,
                                   domain::timestamp now);

  /// What try_acquire would answer now, without counting anything: 0 if a request would be
  /// accepted, else the whole seconds (at least 1) until the current window ends. For limits on
  /// failures (logins), which are checked before the attempt and counted only when it fails.
  std::chrono::seconds check(std::string_view key_id, const domain::rate_limit& limit,
                             domain::timestamp now) const;

  /// Drops counters whose window ended before `now` (called periodically; bounds memory).
  void sweep(domain::timestamp now);

  /// Number of counters held (for tests and metrics).
  std::size_t counter_count() const;

 private:
  struct counter {
    std::int64_t window_start_s = 0;
    std::uint32_t window_seconds = 0;
    std::uint32_t count = 0;
  };
  // Lets counters be probed with a string_view (no temporary std::string per request).
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct stripe {
    mutable std::mutex mutex;
    std::unordered_map<std::string, counter, string_hash, std::equal_to<>> counters;
  };
  static constexpr std::size_t stripes = 64;
  std::array<stripe, stripes> stripes_;
};

}  // namespace keyledger::services

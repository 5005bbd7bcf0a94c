#include "services/app/rate_limiter.hpp"

#include <algorithm>

namespace keyledger::services {

namespace {

constexpr std::int64_t us_per_s = 1'000'000;

// Floor division: instants before the epoch still fall into the window that contains them.
std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::size_t rate_limiter::string_hash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

std::chrono::seconds rate_limiter::try_acquire(std::string_view key_id,
                                               const domain::rate_limit& limit,
                                               domain::timestamp now) {
  // A window of 0 cannot be decided on; treat it as the shortest one rather than divide by 0.
  const std::uint32_t window = std::max<std::uint32_t>(limit.window_seconds, 1);
  const std::int64_t now_us = now.time_since_epoch().count();
  const std::int64_t window_start = floor_div(floor_div(now_us, us_per_s), window) * window;

  stripe& s = stripes_[std::hash<std::string_view>{}(key_id) % stripes];
  std::lock_guard lock(s.mutex);
  auto it = s.counters.find(key_id);
  if (it == s.counters.end()) it = s.counters.emplace(std::string(key_id), counter{}).first;
  counter& c = it->second;
  if (c.window_start_s != window_start || c.window_seconds != window) {
    // A new window (or a limit changed by PATCH to another window length): start counting anew.
    c = counter{window_start, window, 0};
  }
  if (c.count >= limit.limit) {
    const std::int64_t remaining_us = (window_start + window) * us_per_s - now_us;
    return std::chrono::seconds(
        std::max<std::int64_t>(1, (remaining_us + us_per_s - 1) / us_per_s));
  }
  ++c.count;
  return std::chrono::seconds(0);
}

std::chrono::seconds rate_limiter::check(std::string_view key_id, const domain::rate_limit& limit,
                                         domain::timestamp now) const {
  const std::uint32_t window = std::max<std::uint32_t>(limit.window_seconds, 1);
  const std::int64_t now_us = now.time_since_epoch().count();
  const std::int64_t window_start = floor_div(floor_div(now_us, us_per_s), window) * window;

  const stripe& s = stripes_[std::hash<std::string_view>{}(key_id) % stripes];
  std::lock_guard lock(s.mutex);
  const auto it = s.counters.find(key_id);
  // No counter, or one of an earlier window (or another window length): nothing counted yet.
  const std::uint32_t count = it != s.counters.end() && it->second.window_start_s == window_start &&
                                      it->second.window_seconds == window
                                  ? it->second.count
                                  : 0;
  if (count < limit.limit) return std::chrono::seconds(0);
  const std::int64_t remaining_us = (window_start + window) * us_per_s - now_us;
  return std::chrono::seconds(std::max<std::int64_t>(1, (remaining_us + us_per_s - 1) / us_per_s));
}

void rate_limiter::sweep(domain::timestamp now) {
  const std::int64_t now_s = floor_div(now.time_since_epoch().count(), us_per_s);
  for (stripe& s : stripes_) {
    std::lock_guard lock(s.mutex);
    std::erase_if(s.counters, [now_s](const auto& item) {
      return item.second.window_start_s + std::int64_t(item.second.window_seconds) <= now_s;
    });
  }
}

std::size_t rate_limiter::counter_count() const {
  std::size_t n = 0;
  for (const stripe& s : stripes_) {
    std::lock_guard lock(s.mutex);
    n += s.counters.size();
  }
  return n;
}

}  // namespace keyledger::services

#pragma once

// The one test clock: it stands still until the test moves it. Thread-safe (the pool's
// workers read it while the test advances it).

#include <atomic>
#include <chrono>
#include <cstdint>

#include "domain/types.hpp"

namespace keyledger::test_support {

class manual_clock final : public domain::clock {
 public:
  /// Starts at the Unix epoch, or at `start`.
  manual_clock() = default;
  explicit manual_clock(domain::timestamp start) : us_(start.time_since_epoch().count()) {}

  domain::timestamp now() const override {
    return domain::timestamp(std::chrono::microseconds(us_.load()));
  }
  void set(domain::timestamp t) { us_.store(t.time_since_epoch().count()); }
  void advance(std::chrono::microseconds d) { us_ += d.count(); }

 private:
  std::atomic<std::int64_t> us_{0};
};

}  // namespace keyledger::test_support

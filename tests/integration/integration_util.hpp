#pragma once

// Helpers shared by the integration tests (real PostgreSQL through tests/support).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::integration {

/// A random event id (test randomness; production ids come from the CSPRNG).
inline infra::uuid random_uuid() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  infra::uuid id{};
  for (std::size_t i = 0; i < id.size(); i += 8) {
    const std::uint64_t word = engine();
    for (std::size_t j = 0; j < 8; ++j) id[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
  }
  return id;
}

inline infra::new_event make_event(std::string type, std::string payload) {
  return infra::new_event{random_uuid(), std::move(type), std::move(payload)};
}

inline infra::event_metadata sample_metadata() {
  return infra::event_metadata{"key_admin", "req_0001", "192.0.2.7", "idem-42"};
}

/// The code of the infra::error `fn` throws, or errc::ok when it throws none.
template <class Fn>
infra::errc error_of(Fn&& fn) {
  try {
    fn();
  } catch (const infra::error& e) {
    return e.code();
  }
  return infra::errc::ok;
}

/// Runs one statement on its own superuser connection (no SET ROLE) and returns the result.
inline pqxx::result admin_query(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::work txn(conn);
  pqxx::result r = txn.exec(sql);
  txn.commit();
  return r;
}

/// Collects what a subscription hands on; tests wait on it with a deadline.
class event_collector {
 public:
  void operator()(const infra::recorded_event& e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
    }
    changed_.notify_all();
  }

  /// True once an event with global_seq >= seq arrived, false when `deadline` passed first.
  bool wait_for_seq(std::uint64_t seq, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline,
                             [&] { return !events_.empty() && events_.back().global_seq >= seq; });
  }

  std::vector<infra::recorded_event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<infra::recorded_event> events_;
};

}  // namespace keyledger::integration

#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "infra/core/event_log/consumer.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// Feeds every event after a checkpoint, in global order, to a handler: catches up by reading
/// in batches, then waits on LISTEN keyledger_events (sent by a trigger after each append
/// commits) or at most `poll_interval`, and reads again. A lost notification therefore costs
/// at most one poll interval. Runs on its own thread with two connections, both named
/// `keyledger_subscription` in pg_stat_activity unless the conninfo names them: the primary
/// reads and listens; the standby only listens, and when the primary's connection is lost it
/// becomes the primary at once and reads what was missed (a lost LISTEN connection costs a
/// read, not a new backend), while a new standby is opened on a helper thread. Without a
/// standby it reconnects at once, then with backoff (up to 1 s). The handler runs on that
/// thread, one event at a time. Every follower of the log is a log_consumer; a durable one
/// resumes where it was after a restart.
class pg_subscription {
 public:
  using handler = std::function<void(const recorded_event&)>;

  struct options {
    std::chrono::milliseconds poll_interval{250};
    /// Keep the checkpoint in consumer_checkpoints under the consumer's name: start from the
    /// saved position, save after each batch handed on. Off for in-memory projections, which
    /// rebuild from the beginning.
    bool durable = false;
  };

  /// Feeds `consumer` (which must outlive the subscription) the events of its categories; the
  /// checkpoint moves past the others too. Starts after seq 0, or after the durable checkpoint.
  pg_subscription(std::string conninfo, log_consumer& consumer, options opts);

  pg_subscription(std::string conninfo, std::uint64_t after_seq, handler on_event,
                  std::chrono::milliseconds poll_interval = std::chrono::milliseconds(250));
  ~pg_subscription();  ///< stops
  pg_subscription(const pg_subscription&) = delete;
  pg_subscription& operator=(const pg_subscription&) = delete;

  /// Reads synchronously up to the current head on the caller's thread (start-up).
  /// Throws infra::error on failure.
  void catch_up();

  /// Starts the background thread. Precondition: not started.
  void start();

  /// Stops and joins the thread within about one poll interval. Idempotent.
  void stop();

  /// The global_seq of the last event read (handed to the handler, or skipped by the filter).
  std::uint64_t checkpoint() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

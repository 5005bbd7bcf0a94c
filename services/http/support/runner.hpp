#pragma once

// Running endpoint work off the I/O thread: reads on the blocking pool, and commands under the
// request's Idempotency-Key, answered once this node has applied their events.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "domain/types.hpp"
#include "infra/core/blocking_pool.hpp"
#include "infra/core/idempotency_store.hpp"
#include "infra/http/server.hpp"
#include "services/http/router/call.hpp"

namespace keyledger::infra {
class response_sealer;
}

namespace keyledger::services::http {

/// What a command job hands back: its answer and the global position its node must apply
/// before the answer goes out (0: nothing was appended).
struct command_result {
  infra::http_response response;
  std::uint64_t seq = 0;
  /// Not kept for Idempotency-Key replays: a retry may succeed (409 CONFLICT).
  bool transient = false;
};

using read_job = std::function<infra::http_response(std::size_t worker)>;
using command_job = std::function<command_result(std::size_t worker)>;

struct runner_dependencies {
  infra::blocking_pool& pool;
  std::function<infra::idempotency_store&(std::size_t worker)> idempotency_for;
  /// Seals the responses kept for Idempotency-Key replays (a create response holds a secret).
  const infra::response_sealer& sealer;
  const domain::clock& clock;
  /// Blocks the calling pool thread until this node has applied `seq` or the deadline passes;
  /// false on timeout.
  std::function<bool(std::uint64_t seq, std::chrono::steady_clock::time_point deadline)>
      wait_applied;
  /// The same without blocking: calls `done(applied)` once this node has applied `seq` or at
  /// the deadline (active_key_view::when_applied). What commands use; wait_applied is for
  /// settle() (work that appended from a read job or an OAuth endpoint's pool job).
  std::function<void(std::uint64_t seq, std::chrono::steady_clock::time_point deadline,
                     std::function<void(bool applied)> done)>
      when_applied;
  /// How long a command waits for its own node to apply its event before answering.
  std::chrono::milliseconds apply_wait{3000};
};

/// Thread-safe; lives as long as the router (the pool's jobs hold references to it).
class runner {
 public:
  explicit runner(runner_dependencies deps) : d_(std::move(deps)) {}

  /// Runs a read on the blocking pool; infra errors become their public answer. 503
  /// OVERLOADED when the pool is full.
  void read(const call& c, read_job job) const;

  /// Runs a command on the blocking pool under the request's Idempotency-Key (if any): claims
  /// it, runs `job`, keeps the answer sealed for replays (not 5xx, not transient), waits for
  /// this node to apply the command's events, then answers.
  void command(const call& c, command_job job) const;

  /// Runs `fn` on the blocking pool (the session authenticator's lookup); exceptions answer 5xx
  /// through `c`. The one way work leaves the I/O thread.
  void blocking(const call& c, std::function<void(std::size_t worker)> fn) const;

  /// For work run through read() that appended anyway (set-password: a secret goes in, so it
  /// is never kept for replays): blocks the pool thread until this node has applied `seq`.
  /// nullopt once applied; else the 503 answer a command gives when its view lags.
  std::optional<infra::http_response> settle(std::uint64_t seq, std::string_view request_id) const;

 private:
  bool await_applied(std::uint64_t seq) const;

  runner_dependencies d_;
};

}  // namespace keyledger::services::http

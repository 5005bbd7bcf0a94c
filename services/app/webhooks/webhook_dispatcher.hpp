#pragma once

// The dispatcher's first half (issue 10): a follower of the log that turns events into
// deliveries and queues them in webhook_deliveries, exactly once per (event, endpoint) however
// many nodes run. It sits in the node's fan-out after the views (postback_deriver reads the
// state right after each event) and keeps its own durable checkpoint ("webhook_dispatcher" in
// consumer_checkpoints): on start-up the fan-out replays the whole log into the views, and the
// dispatcher skips what is at or below its checkpoint. apply() only derives and queues in
// memory; a writer thread inserts the deliveries and moves the checkpoint in one transaction,
// so a crash between the two loses nothing (the next start derives again from the checkpoint;
// the inserts are idempotent). When the in-memory queue is full, apply() waits for the writer
// (back-pressure on the node's subscription: the views, which come first, are never behind
// because of it by more than one event). docs/webhooks.md.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "infra/core/event_log/consumer.hpp"
#include "infra/core/webhook_store.hpp"
#include "services/app/webhooks/postback_deriver.hpp"

namespace keyledger::services {

struct dispatcher_options {
  /// Deliveries held in memory before apply() waits for the writer.
  std::size_t queue_limit = 20000;
  /// At most this many deliveries per transaction.
  std::size_t batch_limit = 500;
};

class webhook_dispatcher final : public infra::log_consumer {
 public:
  static constexpr std::string_view consumer_name = "webhook_dispatcher";

  /// `store` is the writer thread's own (not thread-safe). `on_enqueued` is called on the
  /// writer thread after deliveries were inserted (the senders are woken with it).
  webhook_dispatcher(postback_sources sources, std::unique_ptr<infra::webhook_store> store,
                     dispatcher_options options = {}, std::function<void()> on_enqueued = {});
  ~webhook_dispatcher() override;  ///< stops
  webhook_dispatcher(const webhook_dispatcher&) = delete;
  webhook_dispatcher& operator=(const webhook_dispatcher&) = delete;

  std::string_view name() const noexcept override { return consumer_name; }
  /// Every event: the checkpoint moves past events that make no postback too.
  void apply(const infra::recorded_event& e) override;

  /// Reads the durable checkpoint (events at or below it are skipped) and starts the writer.
  /// With no checkpoint yet (the first start of a log written before postbacks existed), it
  /// starts at `head_seq`: old events are history, not news, and are not sent. Call before the
  /// fan-out's first event. Throws infra::error when the database cannot be read.
  void start(std::uint64_t head_seq);
  /// Writes what is queued (best effort), then stops the writer. Idempotent.
  void stop();

  /// The checkpoint read at start().
  std::uint64_t start_checkpoint() const noexcept { return start_checkpoint_; }
  /// Whether everything applied up to `seq` has been written, waiting until `deadline`.
  bool wait_written(std::uint64_t seq, std::chrono::steady_clock::time_point deadline) const;

 private:
  void run();
  /// Writes one batch; false when there was nothing to write.
  bool write_some(std::unique_lock<std::mutex>& lock);

  postback_sources sources_;
  std::unique_ptr<infra::webhook_store> store_;
  dispatcher_options options_;
  std::function<void()> on_enqueued_;
  std::uint64_t start_checkpoint_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<infra::new_delivery> queue_;
  std::uint64_t applied_seq_ = 0;  ///< the last event applied (derived, queued)
  std::uint64_t written_seq_ = 0;  ///< the checkpoint last saved
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace keyledger::services

#pragma once

// Group commit (issue 12): appends made at the same moment by many pool threads, each with its
// own connection, travel in ONE transaction under the append lock instead of one each. The
// first thread to arrive while no batch is in flight becomes the leader: it takes every append
// waiting (its own included, at most max_batch), runs pg_event_store::append_batch on its own
// connection and hands each thread its outcome; those that arrived meanwhile wait for the next
// batch, whose leader is one of them. Each append keeps its meaning: its own expected version,
// its own conflict, its own metadata; positions follow the order of arrival.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include "infra/core/event_store.hpp"
#include "infra/pg/pg_event_store.hpp"

namespace keyledger::infra {

/// Shared by every pool thread of one server. Thread-safe.
class append_group {
 public:
  explicit append_group(std::size_t max_batch = 64);
  append_group(const append_group&) = delete;
  append_group& operator=(const append_group&) = delete;

  /// As pg_event_store::append, through a batch. `own` is the calling thread's store: used
  /// when this thread leads the batch. A wrong version throws errc::conflict (this append
  /// only); a failed transaction throws its error to every append of the batch (none written).
  append_result append(pg_event_store& own, std::string_view stream_id,
                       std::uint64_t expected_version, const std::vector<new_event>& events,
                       const event_metadata& metadata, std::int64_t recorded_at_us);

  /// Transactions run and appends made through them, since construction (for benchmarks).
  std::uint64_t batches() const;
  std::uint64_t appends() const;

 private:
  struct waiter;
  void lead(pg_event_store& own, std::unique_lock<std::mutex>& lock);

  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::deque<waiter*> queue_;
  bool leading_ = false;
  std::uint64_t batches_ = 0;
  std::uint64_t appends_ = 0;
};

/// One pool thread's event store: appends go through the group, everything else straight to
/// the thread's own store. Not thread-safe (one per thread), like the store it wraps.
class grouped_event_store final : public event_store {
 public:
  grouped_event_store(append_group& group, pg_event_store& own) : group_(group), own_(own) {}

  append_result append(std::string_view stream_id, std::uint64_t expected_version,
                       const std::vector<new_event>& events, const event_metadata& metadata,
                       std::int64_t recorded_at_us) override {
    return group_.append(own_, stream_id, expected_version, events, metadata, recorded_at_us);
  }
  std::vector<append_result> append_all(std::span<const stream_append> items,
                                        const event_metadata& metadata,
                                        std::int64_t recorded_at_us) override {
    return own_.append_all(items, metadata, recorded_at_us);
  }
  std::vector<recorded_event> read_stream(std::string_view stream_id) override {
    return own_.read_stream(stream_id);
  }
  std::vector<recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) override {
    return own_.read_all(after_seq, limit);
  }
  std::vector<recorded_event> read_streams_until(std::span<const std::string> stream_ids,
                                                 std::int64_t until_us) override {
    return own_.read_streams_until(stream_ids, until_us);
  }
  std::uint64_t head_seq() override { return own_.head_seq(); }

 private:
  append_group& group_;
  pg_event_store& own_;
};

}  // namespace keyledger::infra

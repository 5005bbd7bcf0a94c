#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "infra/core/periodic_worker.hpp"
#include "infra/core/telemetry_store.hpp"

namespace keyledger::services {

/// Buffers verification telemetry in memory and writes it in batches, so the verification hot
/// path never waits on Postgres: record_* only fold into or append to a bounded buffer under a
/// short lock. Uses are aggregated per bucket (key, IP, code, second, request-log flag) and
/// failures per (workspace, IP, code), so a busy key costs one buffered entry and one
/// request-log row per second and outcome, not one per verification (docs/performance.md).
/// A background thread flushes every `interval` (and stop() flushes what is left). When the
/// buffer is full, records that would need a new entry are dropped and counted (dropped());
/// records that fold into an existing one are still counted in it: telemetry must never slow
/// verification down or grow without bound while the database is away. A failed write is
/// retried once with the next flush, then dropped and counted.
class usage_recorder {
 public:
  struct options {
    std::chrono::milliseconds interval{1000};
    std::size_t max_buffered = 100'000;  ///< distinct use buckets + distinct failure rows
  };

  /// `store_factory` is called on the flush thread to open its own store (one connection).
  usage_recorder(std::function<std::unique_ptr<infra::telemetry_store>()> store_factory,
                 options opts);
  ~usage_recorder();  ///< stop()s
  usage_recorder(const usage_recorder&) = delete;
  usage_recorder& operator=(const usage_recorder&) = delete;

  /// A use as the verifier has it: views into the key entry and the request, so that folding
  /// into an existing bucket (the common case under load) copies and allocates nothing. The
  /// views need to live only for the call.
  struct use_ref {
    std::string_view key_id;
    std::string_view workspace_id;
    std::string_view ip;
    std::string_view code;
    std::int64_t at_us = 0;
    bool log_request = true;
    std::uint32_t count = 1;
  };

  /// A verification of a known key (any outcome), or use.count of them: folded into the
  /// buffered use of the same bucket (count added, at_us the latest) when there is one.
  /// Thread-safe; one short lock, and no allocation when it folds (strings are copied only
  /// for a new bucket).
  void record_use(const use_ref& use) noexcept;
  /// The same for an owned record (tests, callers that have one).
  void record_use(const infra::key_use& use) noexcept;
  /// A failed attempt: aggregated in memory per (workspace, ip, code) until the flush.
  void record_failure(std::string_view workspace_id, std::string_view ip, std::string_view code,
                      std::int64_t at_us) noexcept;

  void start();
  /// Flushes what is buffered and stops the thread. Idempotent.
  void stop();
  /// Writes everything buffered now, on the calling thread, through `store`. For tests and
  /// stop(). Throws infra::error if the write fails (the batch is kept for the next try).
  void flush(infra::telemetry_store& store);

  /// Uses (the sum of their counts) and failure rows lost: buffer full, or a write that failed
  /// twice.
  std::uint64_t dropped() const noexcept;
  std::uint64_t written() const noexcept;  ///< uses written so far (the sum of their counts)

 private:
  // Failure rows keyed by (workspace, ip, code); a transparent comparison lets a repeated
  // failure be found with string_views, without building three strings. It compares both sides
  // as string_views: std::less<> on a tuple of strings against a tuple of string_views does not
  // compile with clang 14 and libstdc++ 12 (the fuzzing build, tests/fuzz).
  struct failure_key_less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
      return views(a) < views(b);
    }
    template <typename T>
    static std::tuple<std::string_view, std::string_view, std::string_view> views(const T& t) {
      return {std::get<0>(t), std::get<1>(t), std::get<2>(t)};
    }
  };
  using failure_map = std::map<std::tuple<std::string, std::string, std::string>,
                               infra::auth_failure_count, failure_key_less>;
  struct batch {
    /// The buffered uses are uses[0, used). The elements past them are kept from an earlier
    /// batch, their strings' storage with them, so that a new bucket is written into one
    /// without allocating (once warm, as under a random-key load where nearly every use is a
    /// new bucket). They hold key ids, workspace ids, IPs and codes, never key material.
    std::vector<infra::key_use> uses;
    std::size_t used = 0;
    failure_map failures;
    std::size_t size() const noexcept { return used + failures.size(); }
    std::span<const infra::key_use> records() const noexcept { return {uses.data(), used}; }
  };
  /// One slot of the index of buffer_.uses by bucket (open addressing, linear probing).
  struct use_slot {
    std::size_t hash = 0;
    std::size_t index = 0;  ///< into buffer_.uses, plus one; 0 when the slot is empty
  };
  static void merge_failure(failure_map& into, const infra::auth_failure_count& f);
  /// The sum of the counts of `uses`.
  static std::uint64_t count_uses(std::span<const infra::key_use> uses) noexcept;
  /// The buffered use `use` (of bucket hash `hash`, second `second`) folds into, or null.
  /// Under mutex_.
  infra::key_use* find_bucket_locked(const use_ref& use, std::int64_t second,
                                     std::size_t hash) noexcept;
  /// Makes room in the index for one more bucket (may allocate). Under mutex_.
  void reserve_bucket_locked();
  /// Indexes the newest bucket, buffer_.uses[used - 1], under `hash`; reserve_bucket_locked()
  /// came first. Under mutex_.
  void index_last_bucket_locked(std::size_t hash) noexcept;
  /// Records held in memory (buffered, kept for a retry, or being written). Under mutex_.
  std::size_t held_locked() const noexcept;
  /// Asks the thread to flush early once the buffer is half full. Under mutex_.
  bool crossed_threshold_locked() const noexcept;
  /// flush() through `store` (opened with the factory when null); errors are logged, and the
  /// store is dropped so that the next try reconnects.
  void flush_logged(std::unique_ptr<infra::telemetry_store>& store) noexcept;
  /// Empties a written batch and its index, then keeps them as the next buffer's storage.
  void keep_for_reuse(batch written, std::vector<use_slot> index) noexcept;
  /// Counts everything still held as dropped and forgets it (after the last try at stop).
  void drop_all() noexcept;

  std::function<std::unique_ptr<infra::telemetry_store>()> store_factory_;
  options options_;
  std::mutex flush_mutex_;  // one flush at a time, so a retried batch is written once
  mutable std::mutex mutex_;
  batch buffer_;
  // buffer_.uses by bucket: a power-of-two number of slots, at most half of them used. Taken
  // along with buffer_ by flush(), so it never points into another batch.
  std::vector<use_slot> use_index_;
  // A written batch and an index, emptied, waiting to become buffer_ and use_index_ at the
  // next flush (flush() only), so that neither is grown again from nothing each interval. They
  // keep the storage of the largest batch seen, which max_buffered bounds.
  batch spare_;
  std::vector<use_slot> spare_index_;
  batch retry_;  // failed once: written with the next flush, or dropped if that fails too
  std::size_t in_flight_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t written_ = 0;
  bool stopped_ = false;
  /// The flush thread's store (and, once it has stopped, stop()'s).
  std::unique_ptr<infra::telemetry_store> store_;
  // Last: stopped (destroyed) before what its passes use.
  infra::periodic_worker worker_;
};

}  // namespace keyledger::services

#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/event_log/append_rules.hpp"
#include "infra/core/event_log/chain.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// The PostgreSQL event store (schema/001_events.sql). Owns one connection (libpqxx 6.4),
/// opened lazily and reopened after a broken connection; statements are prepared once per
/// connection. After connecting it runs `SET ROLE keyledger_app` when the login role is a
/// member of it, so the server itself can only INSERT and SELECT events.
///
/// Appends are serialised by a transaction-scoped advisory lock, so global_seq = previous
/// head + 1 is gapless and in commit order, and the hash chain has one predecessor. Not
/// thread-safe: one instance per thread. pqxx errors become infra::error (unique violation on
/// (stream_id, version) -> conflict; broken connection -> unavailable; others -> storage).
class pg_event_store final : public event_store {
 public:
  /// One append of a batch: the arguments of append(). The views must outlive the call.
  struct batch_item {
    std::string_view stream_id;
    std::uint64_t expected_version = 0;
    std::span<const new_event> events;
    const event_metadata* metadata = nullptr;  ///< non-null
    std::int64_t recorded_at_us = 0;
  };

  /// What became of one batch item: error == errc::ok and `result` set, or errc::conflict /
  /// errc::bad_request (that item wrote nothing; `detail` says why, never quoting a payload).
  struct batch_outcome {
    errc error = errc::ok;
    append_result result;
    std::string detail;
  };

  explicit pg_event_store(std::string conninfo);
  ~pg_event_store() override;
  pg_event_store(const pg_event_store&) = delete;
  pg_event_store& operator=(const pg_event_store&) = delete;

  append_result append(std::string_view stream_id, std::uint64_t expected_version,
                       const std::vector<new_event>& events, const event_metadata& metadata,
                       std::int64_t recorded_at_us) override;

  /// One transaction under the append lock, like append_batch, but all or nothing: a conflict
  /// in any item (wrong version, an event id already stored) throws errc::conflict and writes
  /// nothing; a retry (items[0]'s first event id stored) writes nothing and returns the stored
  /// positions. Arguments are checked by validate_append_all (errc::bad_request). One INSERT,
  /// so one NOTIFY.
  std::vector<append_result> append_all(std::span<const stream_append> items,
                                        const event_metadata& metadata,
                                        std::int64_t recorded_at_us) override;

  std::vector<recorded_event> read_stream(std::string_view stream_id) override;
  std::vector<recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) override;
  /// One statement per 1000 distinct stream ids (`stream_id = ANY(...)`, the (stream_id,
  /// version) index), none for an empty list.
  std::vector<recorded_event> read_streams_until(std::span<const std::string> stream_ids,
                                                 std::int64_t until_us) override;
  std::uint64_t head_seq() override;

  /// Round-trips `SELECT 1` (readiness). Throws infra::error(errc::unavailable).
  void ping();

  /// Appends several items in ONE transaction (one lock, one state read, one INSERT, one
  /// commit), deciding them in order exactly as if append() were called for each in turn: a
  /// later item sees the versions and event ids of earlier ones. Items that conflict or are
  /// invalid write nothing and do not affect the others. append() is append_batch of one item.
  /// Throws infra::error (unavailable / storage) when the transaction itself fails: then
  /// nothing of the batch is written.
  std::vector<batch_outcome> append_batch(std::span<const batch_item> items);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyledger::infra {

using uuid = std::array<std::uint8_t, 16>;
using sha256_digest = std::array<std::uint8_t, 32>;

/// Who and what caused an append. Stored as a JSON object beside each event. Never a secret:
/// `actor` is a key id, `idempotency_key` is the client's header value.
struct event_metadata {
  std::string actor;
  std::string request_id;
  std::string source_ip;
  std::string idempotency_key;
};

struct new_event {
  uuid event_id{};
  std::string type;     ///< e.g. "KeyCreated"
  std::string payload;  ///< a JSON object, stored byte for byte
};

/// One row of the log, exactly as stored.
struct recorded_event {
  std::uint64_t global_seq = 0;  ///< gapless, in commit order, from 1
  std::string stream_id;
  std::uint64_t version = 0;  ///< per stream, from 1
  uuid event_id{};
  std::string type;
  std::string payload;
  std::string metadata;  ///< JSON object text as stored
  std::int64_t recorded_at_us = 0;  ///< microseconds since the Unix epoch, UTC
  sha256_digest hash{};  ///< see docs/event-store.md "Hash chain"
};

struct append_result {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t stream_version = 0;  ///< the stream's version after the append
  bool duplicate = false;            ///< the first event id was already stored: nothing appended
};

/// One stream's part of an atomic multi-stream append (see event_store::append_all). The views
/// must outlive the call.
struct stream_append {
  std::string_view stream_id;
  std::uint64_t expected_version = 0;
  std::span<const new_event> events;  ///< non-empty
};

/// The append-only event log (port). Implementations: pg_event_store (infra/pg) and the
/// in-memory fake in tests/support. An instance is NOT thread-safe: use one per thread.
class event_store {
 public:
  virtual ~event_store() = default;

  /// Appends `events` (non-empty) to `stream_id` atomically if the stream's current version
  /// equals `expected_version` (0 = the stream must not exist yet). On a wrong version throws
  /// infra::error(errc::conflict) and writes nothing. If events[0].event_id is already stored,
  /// appends nothing and returns the stored positions with duplicate = true.
  virtual append_result append(std::string_view stream_id, std::uint64_t expected_version,
                               const std::vector<new_event>& events,
                               const event_metadata& metadata,
                               std::int64_t recorded_at_us) = 0;

  /// Appends to several streams in ONE transaction, all or nothing, in the order given (global
  /// positions follow that order). If any item's expected version is wrong, throws
  /// infra::error(errc::conflict) and writes nothing at all. If items[0].events[0].event_id is
  /// already stored, appends nothing and returns results with duplicate = true (the stored
  /// positions for the first item; zeros for the others). Same argument checks as append()
  /// (errc::bad_request). Used by rotation: KeyRotated (old key) + KeyCreated (new key).
  /// Returns one result per item.
  virtual std::vector<append_result> append_all(std::span<const stream_append> items,
                                                const event_metadata& metadata,
                                                std::int64_t recorded_at_us) = 0;

  /// All events of one stream in version order (empty if none).
  virtual std::vector<recorded_event> read_stream(std::string_view stream_id) = 0;

  /// Up to `limit` events with global_seq > after_seq, in global order.
  virtual std::vector<recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) = 0;

  /// Every event of the given streams with recorded_at_us <= until_us, in global order. A
  /// stream that does not exist adds nothing; an id given twice counts once. For reads at an
  /// instant (the key view as of a time): a workspace's few streams in one round trip, instead
  /// of one read per stream or the whole log. The filter is per event: when writers' clocks
  /// disagreed, a stream's version N+1 may be recorded at or before until_us while version N
  /// is not, so callers that fold keep each stream only up to its first missing version
  /// (docs/event-store.md, "Reading at an instant").
  virtual std::vector<recorded_event> read_streams_until(std::span<const std::string> stream_ids,
                                                         std::int64_t until_us) = 0;

  /// The highest committed global_seq (0 if the log is empty).
  virtual std::uint64_t head_seq() = 0;
};

}  // namespace keyledger::infra

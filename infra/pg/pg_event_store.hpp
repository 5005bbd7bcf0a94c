#pragma once

#include <memory>
#include <string>

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
  explicit pg_event_store(std::string conninfo);
  ~pg_event_store() override;

  append_result append(std::string_view stream_id, std::uint64_t expected_version,
                       const std::vector<new_event>& events, const event_metadata& metadata,
                       std::int64_t recorded_at_us) override;
  std::vector<recorded_event> read_stream(std::string_view stream_id) override;
  std::vector<recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) override;
  std::uint64_t head_seq() override;

  /// Round-trips `SELECT 1` (readiness). Throws infra::error(errc::unavailable).
  void ping();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Recomputes the hash of `e` given the previous event's hash (all zero before seq 1).
/// The byte layout is documented in docs/event-store.md.
sha256_digest chain_hash(const sha256_digest& prev, const recorded_event& e);

/// Result of verifying the whole chain from seq 1.
struct chain_verification {
  bool ok = true;
  std::uint64_t events_checked = 0;
  std::uint64_t first_bad_seq = 0;  ///< 0 when ok
  std::string problem;              ///< e.g. "hash mismatch", "gap before seq"
};

/// Reads the log in order and checks gaplessness and every hash.
chain_verification verify_chain(event_store& store);

}  // namespace keyledger::infra

#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyledger::infra {

/// Verifications of a known key, as buffered by services::usage_recorder: `count` uses of the
/// same key from the same IP with the same outcome and request-log flag within one second
/// (at_us / 1'000'000) are folded into one, with at_us the latest of them. Never a secret: the
/// key is named by its id.
struct key_use {
  std::string key_id;
  std::string workspace_id;
  std::int64_t at_us = 0;   ///< microseconds since the Unix epoch, UTC; the latest folded use
  std::string ip;           ///< canonical text ("" when unknown)
  std::string code;         ///< "VALID", "REVOKED", "FORBIDDEN_IP", ...
  bool log_request = true;  ///< false for off-the-record keys: only last-used is updated
  std::uint32_t count = 1;  ///< uses folded into this one (0 is never stored)
};

/// Failed authentication attempts aggregated per (workspace, source IP, code) in one flush
/// window. workspace_id is "" when the key's prefix names no single workspace.
struct auth_failure_count {
  std::string workspace_id;
  std::string source_ip;
  std::string code;  ///< "NOT_FOUND", "MALFORMED", "FORBIDDEN_IP", ...
  std::uint64_t count = 0;
  std::int64_t first_at_us = 0;
  std::int64_t last_at_us = 0;
};

struct last_use {
  std::string key_id;
  std::int64_t at_us = 0;
  std::string ip;
};

/// One row of a key's request log: `count` requests from one IP with one outcome within one
/// second, at_us the latest of them. A second's requests may span several rows (one per write
/// that held some of them), so a reader adds the counts up per (second, ip, code).
struct request_log_entry {
  std::int64_t id = 0;  ///< store-assigned, increasing; the cursor with at_us
  std::int64_t at_us = 0;
  std::string ip;
  std::string code;
  std::uint64_t count = 1;  ///< >= 1
  bool valid() const noexcept { return code == "VALID"; }
};

/// Usage telemetry (port): last-used, the per-key request log and failure counters. High
/// volume and mutable, so kept in tables beside the event log, not in it (docs/architecture.md).
/// Implementation: pg_telemetry_store (infra/pg). Not thread-safe: one instance per thread.
class telemetry_store {
 public:
  virtual ~telemetry_store() = default;

  /// In one transaction: last-used per key moves forward only (a late batch never moves it
  /// back); a request-log row for each use with log_request, carrying its count; failure counts
  /// added to their (workspace, ip, code) rows (first_at = min, last_at = max). Uses with count 0
  /// are skipped. Throws infra::error.
  virtual void write(std::span<const key_use> uses,
                     std::span<const auth_failure_count> failures) = 0;

  /// Last use of each given key that has one (any order).
  virtual std::vector<last_use> last_uses(std::span<const std::string> key_ids) = 0;

  /// A key's request log, newest first: entries strictly older than the cursor (at_us, id)
  /// when given, at most `limit`.
  virtual std::vector<request_log_entry> request_log(
      std::string_view key_id, std::optional<std::pair<std::int64_t, std::int64_t>> before,
      std::size_t limit) = 0;

  /// A workspace's failure counters with last_at_us >= since_us, most recent first.
  virtual std::vector<auth_failure_count> auth_failures(std::string_view workspace_id,
                                                        std::int64_t since_us,
                                                        std::size_t limit) = 0;

  /// Deletes request-log rows older than `before_us`; returns how many.
  virtual std::size_t purge_request_log(std::int64_t before_us) = 0;

  /// Deletes failure counters last seen before `before_us` (an attacker cycling source
  /// addresses must not grow the table without bound); returns how many.
  virtual std::size_t purge_auth_failures(std::int64_t before_us) = 0;
};

}  // namespace keyledger::infra

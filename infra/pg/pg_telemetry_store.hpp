#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "infra/core/telemetry_store.hpp"

namespace keyledger::infra {

/// Usage telemetry in PostgreSQL (schema/002: key_last_use, key_requests, auth_failures; 004:
/// key_requests.count). Owns one connection (libpqxx 6.4), opened lazily with `SET ROLE
/// keyledger_app` when the login role is a member, statements prepared once per connection. Not
/// thread-safe: one instance per thread. Errors are infra::error: unavailable (no connection,
/// connection lost), storage (anything else); messages never quote row values.
///
/// write() is one statement, hence one transaction: the last-used upsert (forward only), the
/// request-log INSERT and the failure-counter upsert either all happen or none does. Rows are
/// locked in key order, so concurrent writers on several nodes cannot deadlock. A write is not
/// retried after a broken connection (its outcome is unknown; the caller's next flush opens a
/// new connection). Reads are retried once on a new connection.
///
/// Input that cannot be stored is skipped, never fatal to the batch: a text field that is not
/// valid UTF-8, holds NUL or is longer than max_text_bytes, an empty key id or code, an instant
/// outside timestamptz's range, a use or a failure row with count 0. Failure counts saturate at
/// INT64_MAX, a request-log row's count at INT32_MAX (an integer column).
class pg_telemetry_store final : public telemetry_store {
 public:
  /// Longest key id, workspace id, IP or code stored.
  static constexpr std::size_t max_text_bytes = 256;

  explicit pg_telemetry_store(std::string conninfo);
  ~pg_telemetry_store() override;
  pg_telemetry_store(const pg_telemetry_store&) = delete;
  pg_telemetry_store& operator=(const pg_telemetry_store&) = delete;

  void write(std::span<const key_use> uses, std::span<const auth_failure_count> failures) override;
  std::vector<last_use> last_uses(std::span<const std::string> key_ids) override;
  /// A cursor instant outside timestamptz's range is clamped (it may come from a client).
  std::vector<request_log_entry> request_log(
      std::string_view key_id, std::optional<std::pair<std::int64_t, std::int64_t>> before,
      std::size_t limit) override;
  std::vector<auth_failure_count> auth_failures(std::string_view workspace_id,
                                                std::int64_t since_us, std::size_t limit) override;
  std::size_t purge_request_log(std::int64_t before_us) override;
  std::size_t purge_auth_failures(std::int64_t before_us) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#pragma once

#include <memory>
#include <string>

#include "infra/core/webhook_store.hpp"

namespace keyledger::infra {

/// The postback machinery in PostgreSQL (schema/008: webhook_secrets, webhook_deliveries,
/// webhook_attempts, webhook_endpoint_health). Owns one connection (libpqxx 6.4), opened lazily
/// with `SET ROLE keyledger_app`, statements prepared once per connection. Reads and the
/// idempotent writes (put_secret, enqueue) are retried once on a new connection after a broken
/// one; claim and record are not (a lost answer leaves a lease that simply runs out). Errors are
/// infra::error: bad_request, conflict, unavailable, storage; no error text holds a secret or a
/// payload. Not thread-safe: one instance per thread.
class pg_webhook_store final : public webhook_store {
 public:
  explicit pg_webhook_store(std::string conninfo);
  ~pg_webhook_store() override;
  pg_webhook_store(const pg_webhook_store&) = delete;
  pg_webhook_store& operator=(const pg_webhook_store&) = delete;

  void put_secret(std::string_view owner_id, std::uint32_t version,
                  std::string_view sealed) override;
  std::optional<std::string> get_secret(std::string_view owner_id, std::uint32_t version) override;
  std::vector<secret_version> secret_versions(std::string_view owner_id) override;
  std::size_t enqueue(std::span<const new_delivery> deliveries) override;
  std::size_t enqueue_through(std::span<const new_delivery> deliveries, std::string_view consumer,
                              std::uint64_t through_seq) override;
  std::uint64_t checkpoint(std::string_view consumer) override;
  std::vector<claimed_delivery> claim(std::size_t limit, std::int64_t now_us,
                                      std::int64_t lease_until_us) override;
  bool record(const attempt_result& result, std::optional<std::int64_t>& failing_since_us) override;
  void drop(std::string_view message_id, std::string_view claim) override;
  std::vector<delivery_summary> deliveries(std::string_view endpoint_id, std::size_t limit,
                                           std::optional<std::uint64_t> before_seq) override;
  bool retry_now(std::string_view endpoint_id, std::string_view message_id,
                 std::int64_t now_us) override;
  void reset_health(std::string_view endpoint_id) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "infra/core/webhook_store.hpp"

namespace keyledger::test_support {

/// In-memory fake of infra::webhook_store with pg_webhook_store's semantics (schema/008): a
/// secret is written once (the same bytes again change nothing, other bytes errc::conflict; a
/// malformed owner, version 0 or no bytes errc::bad_request); a delivery is enqueued once per
/// (event_id, endpoint_id) and once per message id; claims lease due pending rows oldest due
/// first; record() needs the claim still held; the health row keeps the first failure until a
/// success or reset_health(). Unlike the real store one instance may be shared by threads
/// (every member locks), standing in for the shared database. A delivery's created_us is its
/// first due time (the database stamps now()). tests/integration/webhook_store_contract_test
/// runs the same suite over this fake and pg_webhook_store.
class memory_webhook_store final : public infra::webhook_store {
 public:
  void put_secret(std::string_view owner_id, std::uint32_t version,
                  std::string_view sealed) override;
  std::optional<std::string> get_secret(std::string_view owner_id, std::uint32_t version) override;
  /// created_us: a counter (1, 2, ...) in the order secrets were stored, not a time.
  std::vector<infra::secret_version> secret_versions(std::string_view owner_id) override;
  std::size_t enqueue(std::span<const infra::new_delivery> deliveries) override;
  std::size_t enqueue_through(std::span<const infra::new_delivery> deliveries,
                              std::string_view consumer, std::uint64_t through_seq) override;
  std::uint64_t checkpoint(std::string_view consumer) override;
  std::vector<infra::claimed_delivery> claim(std::size_t limit, std::int64_t now_us,
                                             std::int64_t lease_until_us) override;
  bool record(const infra::attempt_result& result,
              std::optional<std::int64_t>& failing_since_us) override;
  void drop(std::string_view message_id, std::string_view claim) override;
  std::vector<infra::delivery_summary> deliveries(std::string_view endpoint_id, std::size_t limit,
                                                  std::optional<std::uint64_t> before_seq) override;
  bool retry_now(std::string_view endpoint_id, std::string_view message_id,
                 std::int64_t now_us) override;
  void reset_health(std::string_view endpoint_id) override;

  // ---- for tests ----

  /// Every stored sealed secret by (owner, version).
  std::map<std::pair<std::string, std::uint32_t>, std::string> secrets() const;
  /// The endpoint's failing_since (nullopt: healthy or no row); has_health: whether a row is.
  std::optional<std::int64_t> failing_since(std::string_view endpoint_id) const;
  bool has_health(std::string_view endpoint_id) const;
  /// How many reset_health() calls were made.
  std::size_t resets() const;

 private:
  struct row {
    infra::new_delivery delivery;
    std::string status = "pending";
    std::uint32_t attempts = 0;
    std::int64_t next_attempt_us = 0;
    std::optional<std::int64_t> lease_until_us;
    std::string claim;
    std::int64_t created_us = 0;
    std::vector<infra::delivery_attempt> attempt_log;
  };
  struct health {
    std::optional<std::int64_t> failing_since_us;
  };

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::uint32_t>, std::string> secrets_;
  std::map<std::pair<std::string, std::uint32_t>, std::int64_t> secret_times_;
  std::uint64_t secret_clock_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> checkpoints_;
  std::map<std::string, row, std::less<>> rows_;                   // by message id
  std::set<std::pair<infra::uuid, std::string>> event_endpoints_;  // (event_id, endpoint_id)
  std::map<std::string, health, std::less<>> health_;
  std::uint64_t next_claim_ = 0;
  std::size_t resets_ = 0;
};

/// Another handle on a shared store (the fake locks every member): what a second node's own
/// store is in tests. `before_write`, when set, runs before each enqueue_through (a slow
/// database).
class webhook_store_handle final : public infra::webhook_store {
 public:
  explicit webhook_store_handle(infra::webhook_store& s) : s_(s) {}
  void put_secret(std::string_view o, std::uint32_t v, std::string_view b) override {
    s_.put_secret(o, v, b);
  }
  std::optional<std::string> get_secret(std::string_view o, std::uint32_t v) override {
    return s_.get_secret(o, v);
  }
  std::vector<infra::secret_version> secret_versions(std::string_view o) override {
    return s_.secret_versions(o);
  }
  std::size_t enqueue(std::span<const infra::new_delivery> d) override { return s_.enqueue(d); }
  std::size_t enqueue_through(std::span<const infra::new_delivery> d, std::string_view c,
                              std::uint64_t seq) override {
    if (before_write) before_write();
    return s_.enqueue_through(d, c, seq);
  }
  std::uint64_t checkpoint(std::string_view c) override { return s_.checkpoint(c); }
  std::vector<infra::claimed_delivery> claim(std::size_t limit, std::int64_t now,
                                             std::int64_t until) override {
    return s_.claim(limit, now, until);
  }
  bool record(const infra::attempt_result& r, std::optional<std::int64_t>& since) override {
    return s_.record(r, since);
  }
  void drop(std::string_view m, std::string_view c) override { s_.drop(m, c); }
  std::vector<infra::delivery_summary> deliveries(std::string_view e, std::size_t limit,
                                                  std::optional<std::uint64_t> before) override {
    return s_.deliveries(e, limit, before);
  }
  bool retry_now(std::string_view e, std::string_view m, std::int64_t now) override {
    return s_.retry_now(e, m, now);
  }
  void reset_health(std::string_view e) override { s_.reset_health(e); }

  std::function<void()> before_write;

 private:
  infra::webhook_store& s_;
};

}  // namespace keyledger::test_support

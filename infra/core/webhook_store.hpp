#pragma once

// The delivery machinery of postbacks (issue 10), beside the log: sealed signing secrets, the
// queue of (event, endpoint) deliveries, their attempts, and each endpoint's health. Port; the
// adapter is pg_webhook_store (schema/008). Instants are microseconds since the Unix epoch. Not
// thread-safe: one instance per thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// A postback to enqueue.
struct new_delivery {
  std::string message_id;  ///< "msg_" + 22 base62
  uuid event_id{};
  std::string endpoint_id;
  std::string workspace_id;
  std::uint64_t event_seq = 0;
  std::string event_type;  ///< the postback type ("key.revoked")
  std::string payload;     ///< the exact body
  std::int64_t due_us = 0;
};

/// A delivery leased to one sender.
struct claimed_delivery {
  std::string message_id;
  std::string endpoint_id;
  std::string workspace_id;
  std::string event_type;
  std::uint64_t event_seq = 0;
  std::string payload;
  std::uint32_t attempts = 0;  ///< made before this one
  std::string claim;           ///< what record() must present
};

enum class attempt_outcome { delivered, http_error, timeout, refused, network };
constexpr std::string_view to_string(attempt_outcome o) noexcept {
  switch (o) {
    case attempt_outcome::delivered:
      return "delivered";
    case attempt_outcome::http_error:
      return "http_error";
    case attempt_outcome::timeout:
      return "timeout";
    case attempt_outcome::refused:
      return "refused";
    case attempt_outcome::network:
      return "network";
  }
  return "network";
}

/// What one attempt gave.
struct attempt_result {
  std::string message_id;
  std::string claim;
  std::string endpoint_id;
  std::int64_t started_us = 0;
  std::uint32_t latency_ms = 0;
  std::optional<unsigned> response_status;
  attempt_outcome outcome = attempt_outcome::network;
  std::string error;  ///< public text, at most 300 characters
  /// Failure: when the next attempt is due; nullopt: give up (status failed). Ignored on success.
  std::optional<std::int64_t> next_attempt_us;
};

struct delivery_attempt {
  std::uint32_t attempt = 0;
  std::int64_t started_us = 0;
  std::uint32_t latency_ms = 0;
  std::optional<unsigned> response_status;
  std::string outcome;
  std::string error;
};

/// A stored secret's version and when it was written (a key's postback secrets are not named by
/// events: the newest row is current, the one before it signs too for a while after).
struct secret_version {
  std::uint32_t version = 0;
  std::int64_t created_us = 0;
};

/// A delivery as GET /v1/webhooks/{id}/deliveries shows it.
struct delivery_summary {
  std::string message_id;
  std::string endpoint_id;
  std::string event_type;
  std::uint64_t event_seq = 0;
  std::string status;  ///< pending | delivered | failed | dropped
  std::uint32_t attempts = 0;
  std::int64_t created_us = 0;
  std::int64_t next_attempt_us = 0;
  std::vector<delivery_attempt> attempt_log;  ///< oldest first
};

class webhook_store {
 public:
  virtual ~webhook_store() = default;

  /// Stores a sealed secret of `owner_id` ("whe_..." or "key_...") at `version`. Written once:
  /// the same bytes again change nothing; other bytes throw infra::error(errc::conflict).
  virtual void put_secret(std::string_view owner_id, std::uint32_t version,
                          std::string_view sealed) = 0;
  virtual std::optional<std::string> get_secret(std::string_view owner_id,
                                                std::uint32_t version) = 0;

  /// The versions stored for `owner_id`, newest first.
  virtual std::vector<secret_version> secret_versions(std::string_view owner_id) = 0;

  /// Inserts the deliveries that are not there yet (by (event_id, endpoint_id)); returns how
  /// many were new. One transaction.
  virtual std::size_t enqueue(std::span<const new_delivery> deliveries) = 0;

  /// enqueue, and in the same transaction moves the durable checkpoint of `consumer`
  /// (consumer_checkpoints, never backwards) to `through_seq`: the log up to there has been
  /// turned into deliveries.
  virtual std::size_t enqueue_through(std::span<const new_delivery> deliveries,
                                      std::string_view consumer, std::uint64_t through_seq) = 0;
  /// The durable checkpoint of `consumer`; 0 when none was saved.
  virtual std::uint64_t checkpoint(std::string_view consumer) = 0;

  /// Leases up to `limit` pending deliveries due at `now_us` whose lease is free or ran out,
  /// until `lease_until_us`, oldest due first; rows another sender holds are skipped (SKIP
  /// LOCKED), never waited for.
  virtual std::vector<claimed_delivery> claim(std::size_t limit, std::int64_t now_us,
                                              std::int64_t lease_until_us) = 0;

  /// Records an attempt and moves the delivery on (delivered, pending again, failed) and the
  /// endpoint's health. Returns false, changing nothing, when the claim is no longer held (the
  /// lease ran out and another sender took the row). Returns the endpoint's failing_since after
  /// this attempt in `failing_since_us` (nullopt: healthy).
  virtual bool record(const attempt_result& result,
                      std::optional<std::int64_t>& failing_since_us) = 0;

  /// Marks a claimed delivery dropped (its endpoint is gone or disabled): no attempt recorded.
  virtual void drop(std::string_view message_id, std::string_view claim) = 0;

  /// An endpoint's deliveries, newest first, at most `limit`, with event_seq below
  /// `before_seq` when set.
  virtual std::vector<delivery_summary> deliveries(std::string_view endpoint_id, std::size_t limit,
                                                   std::optional<std::uint64_t> before_seq) = 0;

  /// Makes one delivery of the endpoint due now again (whatever its status, delivered
  /// included): false when there is no such delivery of that endpoint.
  virtual bool retry_now(std::string_view endpoint_id, std::string_view message_id,
                         std::int64_t now_us) = 0;

  /// The endpoint's health row cleared (after a person enables it again).
  virtual void reset_health(std::string_view endpoint_id) = 0;
};

}  // namespace keyledger::infra

#include "infra/pg/pg_webhook_store.hpp"

#include <limits>
#include <map>
#include <pqxx/pqxx>
#include <span>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

constexpr const char* stmt_secret_put = "kl_wh_secret_put";
constexpr const char* stmt_secret_get = "kl_wh_secret_get";
constexpr const char* stmt_enqueue = "kl_wh_enqueue";
constexpr const char* stmt_claim = "kl_wh_claim";
constexpr const char* stmt_held = "kl_wh_held";
constexpr const char* stmt_attempt = "kl_wh_attempt";
constexpr const char* stmt_move_on = "kl_wh_move_on";
constexpr const char* stmt_healthy = "kl_wh_healthy";
constexpr const char* stmt_failing = "kl_wh_failing";
constexpr const char* stmt_drop = "kl_wh_drop";
constexpr const char* stmt_list = "kl_wh_list";
constexpr const char* stmt_list_attempts = "kl_wh_list_attempts";
constexpr const char* stmt_retry = "kl_wh_retry";
constexpr const char* stmt_reset = "kl_wh_reset";
constexpr const char* stmt_secret_versions = "kl_wh_secret_versions";
constexpr const char* stmt_checkpoint_get = "kl_wh_checkpoint_get";
constexpr const char* stmt_checkpoint_put = "kl_wh_checkpoint_put";

std::string ts(std::string_view expr) { return pg_detail::timestamptz_from_us_sql(expr); }
std::string us(std::string_view column) { return pg_detail::us_from_timestamptz_sql(column); }

// The page of an endpoint's deliveries, newest first ($2: before this seq, $3: how many).
std::string page_sql() {
  return "SELECT message_id FROM webhook_deliveries WHERE endpoint_id = $1 AND event_seq < $2 "
         "ORDER BY event_seq DESC, message_id LIMIT $3";
}

std::unique_ptr<pqxx::connection> open_webhook_connection(const std::string& conninfo) {
  auto conn = pg_detail::open_app_connection(conninfo);
  conn->prepare(stmt_secret_put,
                "INSERT INTO webhook_secrets (owner_id, version, sealed) "
                "VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT DO NOTHING RETURNING 1");
  conn->prepare(stmt_secret_get,
                "SELECT encode(sealed, 'hex') FROM webhook_secrets "
                "WHERE owner_id = $1 AND version = $2");
  conn->prepare(stmt_enqueue,
                "INSERT INTO webhook_deliveries (message_id, event_id, endpoint_id, workspace_id, "
                "event_seq, event_type, payload, next_attempt_at, created_at, updated_at) "
                "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, " +
                    ts("$8::bigint") + ", now(), now()) ON CONFLICT DO NOTHING RETURNING 1");
  // Due, not leased (or the lease ran out); another sender's rows are skipped, never waited on.
  conn->prepare(stmt_claim,
                "UPDATE webhook_deliveries d SET lease_until = " + ts("$2::bigint") +
                    ", claim = gen_random_uuid()::text, updated_at = now() "
                    "WHERE d.message_id IN (SELECT message_id FROM webhook_deliveries "
                    "WHERE status = 'pending' AND next_attempt_at <= " +
                    ts("$1::bigint") +
                    " AND (lease_until IS NULL OR lease_until <= " + ts("$1::bigint") +
                    ") ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
                    "RETURNING d.message_id, d.endpoint_id, d.workspace_id, d.event_type, "
                    "d.payload, d.attempts, d.claim, d.event_seq");
  conn->prepare(stmt_held,
                "SELECT attempts FROM webhook_deliveries WHERE message_id = $1 AND claim = $2 "
                "AND status = 'pending' FOR UPDATE");
  conn->prepare(stmt_attempt,
                "INSERT INTO webhook_attempts (message_id, attempt, started_at, latency_ms, "
                "response_status, outcome, error) VALUES ($1, $2, " +
                    ts("$3::bigint") + ", $4, $5, $6, $7)");
  conn->prepare(stmt_move_on,
                "UPDATE webhook_deliveries SET attempts = $2, status = $3, next_attempt_at = "
                "COALESCE(" +
                    ts("$4::bigint") +
                    ", next_attempt_at), lease_until = NULL, claim = NULL, updated_at = now() "
                    "WHERE message_id = $1");
  conn->prepare(stmt_healthy,
                "INSERT INTO webhook_endpoint_health (endpoint_id, failing_since, "
                "last_success_at) VALUES ($1, NULL, " +
                    ts("$2::bigint") +
                    ") ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = NULL, "
                    "last_success_at = EXCLUDED.last_success_at");
  conn->prepare(stmt_failing,
                "INSERT INTO webhook_endpoint_health (endpoint_id, failing_since, "
                "last_failure_at) VALUES ($1, " +
                    ts("$2::bigint") + ", " + ts("$2::bigint") +
                    ") ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = COALESCE("
                    "webhook_endpoint_health.failing_since, EXCLUDED.failing_since), "
                    "last_failure_at = EXCLUDED.last_failure_at RETURNING " +
                    us("failing_since"));
  conn->prepare(stmt_drop,
                "UPDATE webhook_deliveries SET status = 'dropped', lease_until = NULL, "
                "claim = NULL, updated_at = now() WHERE message_id = $1 AND claim = $2");
  conn->prepare(stmt_list,
                "SELECT message_id, endpoint_id, event_type, event_seq, status, attempts, " +
                    us("created_at") + ", " + us("next_attempt_at") +
                    " FROM webhook_deliveries WHERE message_id IN (" + page_sql() +
                    ") ORDER BY event_seq DESC, message_id");
  conn->prepare(stmt_list_attempts,
                "SELECT message_id, attempt, " + us("started_at") +
                    ", latency_ms, response_status, outcome, error FROM webhook_attempts "
                    "WHERE message_id IN (" +
                    page_sql() + ") ORDER BY message_id, attempt");
  conn->prepare(stmt_retry, "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = " +
                                ts("$3::bigint") +
                                ", lease_until = NULL, claim = NULL, updated_at = now() "
                                "WHERE endpoint_id = $1 AND message_id = $2 RETURNING 1");
  conn->prepare(stmt_reset, "DELETE FROM webhook_endpoint_health WHERE endpoint_id = $1");
  conn->prepare(stmt_secret_versions, "SELECT version, " + us("created_at") +
                                          " FROM webhook_secrets WHERE owner_id = $1 "
                                          "ORDER BY version DESC");
  conn->prepare(stmt_checkpoint_get, "SELECT seq FROM consumer_checkpoints WHERE consumer = $1");
  // The same upsert as pg_subscription's: a checkpoint never moves backwards.
  conn->prepare(stmt_checkpoint_put,
                "INSERT INTO consumer_checkpoints (consumer, seq) VALUES ($1, $2) "
                "ON CONFLICT (consumer) DO UPDATE SET "
                "seq = GREATEST(consumer_checkpoints.seq, EXCLUDED.seq), updated_at = now()");
  return conn;
}

std::string text_of(const pqxx::field& f) { return std::string(f.c_str(), f.size()); }

std::optional<std::string> read_secret(pqxx::transaction_base& txn, const std::string& owner,
                                       std::uint32_t version) {
  const pqxx::result r = txn.exec_prepared(stmt_secret_get, owner, version);
  if (r.empty()) return std::nullopt;
  std::string sealed;
  if (!pg_detail::decode_hex(std::string_view(r[0][0].c_str(), r[0][0].size()), sealed)) {
    throw error(errc::storage, "webhook secret get: malformed bytes from database");
  }
  return sealed;
}

bool valid_owner(std::string_view owner) {
  return owner.size() == 26 && (owner.starts_with("whe_") || owner.starts_with("key_"));
}

}  // namespace


struct pg_webhook_store::impl {
  pg_detail::lazy_connection conn;

  explicit impl(std::string conninfo) : conn(std::move(conninfo), &open_webhook_connection) {}
};

pg_webhook_store::pg_webhook_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_webhook_store::~pg_webhook_store() = default;

void pg_webhook_store::put_secret(std::string_view owner_id, std::uint32_t version,
                                  std::string_view sealed) {
  if (!valid_owner(owner_id) || version == 0 || sealed.empty()) {
    throw error(errc::bad_request, "webhook secret put: owner malformed, version 0 or no bytes");
  }
  const std::string owner(owner_id);
  const std::string sealed_hex = pg_detail::hex_of(sealed);
  impl_->conn.run("webhook secret put", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    if (!txn.exec_prepared(stmt_secret_put, owner, version, sealed_hex).empty()) return;
    const auto stored = read_secret(txn, owner, version);
    if (!stored || !constant_time_equal(*stored, sealed)) {
      throw error(errc::conflict, "webhook secret put: another secret is stored under " + owner);
    }
  });
}

std::optional<std::string> pg_webhook_store::get_secret(std::string_view owner_id,
                                                        std::uint32_t version) {
  if (!valid_owner(owner_id)) return std::nullopt;
  const std::string owner(owner_id);
  return impl_->conn.run("webhook secret get", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    return read_secret(txn, owner, version);
  });
}

std::vector<secret_version> pg_webhook_store::secret_versions(std::string_view owner_id) {
  if (!valid_owner(owner_id)) return {};
  const std::string owner(owner_id);
  return impl_->conn.run("webhook secret versions", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    std::vector<secret_version> out;
    for (const auto& row : txn.exec_prepared(stmt_secret_versions, owner)) {
      out.push_back({row[0].as<std::uint32_t>(), row[1].as<std::int64_t>()});
    }
    return out;
  });
}

namespace {

std::size_t insert_deliveries(pqxx::work& txn, std::span<const new_delivery> deliveries) {
  std::size_t added = 0;
  for (const auto& d : deliveries) {
    const auto r =
        txn.exec_prepared(stmt_enqueue, d.message_id, pg_detail::format_uuid(d.event_id),
                          d.endpoint_id, d.workspace_id, d.event_seq, d.event_type, d.payload,
                          d.due_us);
    added += r.size();
  }
  return added;
}

}  // namespace

std::size_t pg_webhook_store::enqueue(std::span<const new_delivery> deliveries) {
  if (deliveries.empty()) return 0;
  return impl_->conn.run("webhook enqueue", [&](pqxx::connection& c) {
    pqxx::work txn(c);
    const auto added = insert_deliveries(txn, deliveries);
    txn.commit();
    return added;
  });
}

std::size_t pg_webhook_store::enqueue_through(std::span<const new_delivery> deliveries,
                                              std::string_view consumer,
                                              std::uint64_t through_seq) {
  const std::string name(consumer);
  return impl_->conn.run("webhook enqueue", [&](pqxx::connection& c) {
    pqxx::work txn(c);
    const auto added = insert_deliveries(txn, deliveries);
    txn.exec_prepared(stmt_checkpoint_put, name, through_seq);
    txn.commit();
    return added;
  });
}

std::uint64_t pg_webhook_store::checkpoint(std::string_view consumer) {
  const std::string name(consumer);
  return impl_->conn.run("webhook checkpoint", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const auto r = txn.exec_prepared(stmt_checkpoint_get, name);
    return r.empty() ? std::uint64_t{0} : r[0][0].as<std::uint64_t>();
  });
}

std::vector<claimed_delivery> pg_webhook_store::claim(std::size_t limit, std::int64_t now_us,
                                                      std::int64_t lease_until_us) {
  return impl_->conn.run(
      "webhook claim",
      [&](pqxx::connection& c) {
        pqxx::work txn(c);
        const auto r = txn.exec_prepared(stmt_claim, now_us, lease_until_us, limit);
        std::vector<claimed_delivery> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          claimed_delivery d;
          d.message_id = text_of(row[0]);
          d.endpoint_id = text_of(row[1]);
          d.workspace_id = text_of(row[2]);
          d.event_type = text_of(row[3]);
          d.payload = text_of(row[4]);
          d.attempts = pg_detail::parse_integer<std::uint32_t>(row[5]);
          d.claim = text_of(row[6]);
          d.event_seq = pg_detail::parse_integer<std::uint64_t>(row[7]);
          out.push_back(std::move(d));
        }
        txn.commit();
        return out;
      },
      pg_detail::on_broken::fail);
}

bool pg_webhook_store::record(const attempt_result& result,
                              std::optional<std::int64_t>& failing_since_us) {
  return impl_->conn.run(
      "webhook record",
      [&](pqxx::connection& c) {
        pqxx::work txn(c);
        const auto held = txn.exec_prepared(stmt_held, result.message_id, result.claim);
        if (held.empty()) return false;
        const auto attempt = pg_detail::parse_integer<std::uint32_t>(held[0][0]) + 1;
        const bool delivered = result.outcome == attempt_outcome::delivered;
        std::optional<int> status;
        if (result.response_status) status = static_cast<int>(*result.response_status);
        txn.exec_prepared(stmt_attempt, result.message_id, attempt, result.started_us,
                          result.latency_ms, status, std::string(to_string(result.outcome)),
                          result.error.substr(0, 300));
        std::string next_status = "delivered";
        std::optional<std::int64_t> next;
        if (!delivered) {
          next = result.next_attempt_us;
          next_status = next ? "pending" : "failed";
        }
        txn.exec_prepared(stmt_move_on, result.message_id, attempt, next_status, next);
        const std::int64_t ended_us = result.started_us + std::int64_t{result.latency_ms} * 1000;
        failing_since_us.reset();
        if (delivered) {
          txn.exec_prepared(stmt_healthy, result.endpoint_id, ended_us);
        } else {
          const auto r = txn.exec_prepared(stmt_failing, result.endpoint_id, ended_us);
          failing_since_us = pg_detail::parse_integer<std::int64_t>(r[0][0]);
        }
        txn.commit();
        return true;
      },
      pg_detail::on_broken::fail);
}

void pg_webhook_store::drop(std::string_view message_id, std::string_view claim) {
  const std::string id(message_id);
  const std::string held(claim);
  impl_->conn.run("webhook drop", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_drop, id, held);
  });
}

std::vector<delivery_summary> pg_webhook_store::deliveries(
    std::string_view endpoint_id, std::size_t limit, std::optional<std::uint64_t> before_seq) {
  const std::string endpoint(endpoint_id);
  const auto before = static_cast<std::int64_t>(
      before_seq.value_or(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
  return impl_->conn.run("webhook deliveries", [&](pqxx::connection& c) {
    // One snapshot for the page and its attempts.
    pqxx::transaction<pqxx::repeatable_read, pqxx::readwrite_policy::read_only> txn(c);
    const auto rows = txn.exec_prepared(stmt_list, endpoint, before, limit);
    std::vector<delivery_summary> out;
    std::map<std::string, std::size_t> index;
    for (const auto& row : rows) {
      delivery_summary d;
      d.message_id = text_of(row[0]);
      d.endpoint_id = text_of(row[1]);
      d.event_type = text_of(row[2]);
      d.event_seq = pg_detail::parse_integer<std::uint64_t>(row[3]);
      d.status = text_of(row[4]);
      d.attempts = pg_detail::parse_integer<std::uint32_t>(row[5]);
      d.created_us = pg_detail::parse_integer<std::int64_t>(row[6]);
      d.next_attempt_us = pg_detail::parse_integer<std::int64_t>(row[7]);
      index.emplace(d.message_id, out.size());
      out.push_back(std::move(d));
    }
    for (const auto& row : txn.exec_prepared(stmt_list_attempts, endpoint, before, limit)) {
      const auto at = index.find(text_of(row[0]));
      if (at == index.end()) continue;
      delivery_attempt a;
      a.attempt = pg_detail::parse_integer<std::uint32_t>(row[1]);
      a.started_us = pg_detail::parse_integer<std::int64_t>(row[2]);
      a.latency_ms = pg_detail::parse_integer<std::uint32_t>(row[3]);
      if (!row[4].is_null()) a.response_status = pg_detail::parse_integer<unsigned>(row[4]);
      a.outcome = text_of(row[5]);
      a.error = text_of(row[6]);
      out[at->second].attempt_log.push_back(std::move(a));
    }
    return out;
  });
}

bool pg_webhook_store::retry_now(std::string_view endpoint_id, std::string_view message_id,
                                 std::int64_t now_us) {
  const std::string endpoint(endpoint_id);
  const std::string id(message_id);
  return impl_->conn.run("webhook retry", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    return !txn.exec_prepared(stmt_retry, endpoint, id, now_us).empty();
  });
}

void pg_webhook_store::reset_health(std::string_view endpoint_id) {
  const std::string endpoint(endpoint_id);
  impl_->conn.run("webhook reset health", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_reset, endpoint);
  });
}

}  // namespace keyledger::infra

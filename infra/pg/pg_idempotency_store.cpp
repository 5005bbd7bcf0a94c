#include "infra/pg/pg_idempotency_store.hpp"

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

using pg_detail::field_text;
using pg_detail::parse_integer;

constexpr const char* stmt_claim = "kl_idem_claim";
constexpr const char* stmt_read = "kl_idem_read";
constexpr const char* stmt_complete = "kl_idem_complete";
constexpr const char* stmt_release = "kl_idem_release";
constexpr const char* stmt_purge = "kl_idem_purge";

// A claim that keeps finding a record which is gone when read (released or purged in between,
// every time) gives up after this many rounds.
constexpr int claim_rounds = 3;

std::unique_ptr<pqxx::connection> open_idempotency_connection(const std::string& conninfo) {
  const auto ts = pg_detail::timestamptz_from_us_sql;
  auto conn = pg_detail::open_app_connection(conninfo);
  // Returns a row when this call inserted the record or replaced an expired one. A conflicting
  // record that is not expired is left alone (the WHERE), and the statement returns nothing.
  conn->prepare(stmt_claim,
                "INSERT INTO idempotency_keys AS k (scope, key, fingerprint, complete, response, "
                "created_at) VALUES ($1, $2, decode($3, 'hex'), false, NULL, " +
                    ts("$4") +
                    ") ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
                    "complete = false, response = NULL, created_at = EXCLUDED.created_at "
                    "WHERE k.created_at < " +
                    ts("$5") + " RETURNING 1");
  conn->prepare(stmt_read,
                "SELECT encode(fingerprint, 'hex'), complete, "
                "coalesce(encode(response, 'hex'), ''), " +
                    pg_detail::us_from_timestamptz_sql("created_at") +
                    " FROM idempotency_keys WHERE scope = $1 AND key = $2");
  conn->prepare(stmt_complete,
                "UPDATE idempotency_keys SET complete = true, response = decode($3, 'hex') "
                "WHERE scope = $1 AND key = $2 AND NOT complete");
  conn->prepare(stmt_release,
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND NOT complete");
  conn->prepare(stmt_purge, "DELETE FROM idempotency_keys WHERE created_at < " + ts("$1"));
  return conn;
}

bool storable(std::string_view text) noexcept {
  return !text.empty() && text.size() <= pg_idempotency_store::max_text_bytes &&
         pg_detail::is_storable_text(text);
}

}  // namespace

struct pg_idempotency_store::impl {
  pg_detail::lazy_connection conn;

  explicit impl(std::string conninfo) : conn(std::move(conninfo), &open_idempotency_connection) {}
};

pg_idempotency_store::pg_idempotency_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_idempotency_store::~pg_idempotency_store() = default;

std::optional<idempotency_record> pg_idempotency_store::claim(std::string_view scope,
                                                              std::string_view key,
                                                              const sha256_digest& fingerprint,
                                                              std::int64_t now_us,
                                                              std::int64_t expired_before_us) {
  if (!storable(scope) || !storable(key)) {
    throw error(errc::bad_request,
                "idempotency claim: scope or key is empty, too long or not valid UTF-8 text");
  }
  if (!pg_detail::is_storable_timestamp(now_us)) {
    throw error(errc::bad_request, "idempotency claim: now out of range");
  }
  const std::string scope_text(scope);
  const std::string key_text(key);
  const std::string fingerprint_hex = to_hex(fingerprint);
  const std::int64_t expired_before = pg_detail::clamp_timestamp(expired_before_us);
  return impl_->conn.run(
      "idempotency claim",
      [&](pqxx::connection& c) -> std::optional<idempotency_record> {
        pqxx::nontransaction txn(c);
        for (int round = 0; round < claim_rounds; ++round) {
          // Autocommit: a concurrent claimer of the same (scope, key) waits for this one's
          // commit, then sees its record and does not replace it (it is not expired).
          if (!txn.exec_prepared(stmt_claim, scope_text, key_text, fingerprint_hex, now_us,
                                 expired_before)
                   .empty()) {
            return std::nullopt;
          }
          const pqxx::result r = txn.exec_prepared(stmt_read, scope_text, key_text);
          if (r.empty()) continue;  // released or purged since: claim again
          idempotency_record record;
          record.scope = scope_text;
          record.key = key_text;
          const pqxx::row row = r[0];
          if (!from_hex(std::string_view(row[0].c_str(), row[0].size()), record.fingerprint) ||
              !pg_detail::decode_hex(std::string_view(row[2].c_str(), row[2].size()),
                                     record.response)) {
            throw error(errc::storage, "idempotency claim: malformed bytes from database");
          }
          record.complete = row[1].as<bool>();
          record.created_at_us = parse_integer<std::int64_t>(row[3]);
          return record;
        }
        throw error(errc::conflict, "idempotency claim: the record keeps changing");
      },
      pg_detail::on_broken::fail);
}

void pg_idempotency_store::complete(std::string_view scope, std::string_view key,
                                    std::string_view sealed_response) {
  // A scope or key that cannot be stored was never claimed.
  if (!storable(scope) || !storable(key)) return;
  const std::string response_hex = pg_detail::hex_of(sealed_response);
  impl_->conn.run("idempotency complete", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_complete, std::string(scope), std::string(key), response_hex);
  });
}

void pg_idempotency_store::release(std::string_view scope, std::string_view key) {
  if (!storable(scope) || !storable(key)) return;
  impl_->conn.run("idempotency release", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_release, std::string(scope), std::string(key));
  });
}

std::size_t pg_idempotency_store::purge(std::int64_t before_us) {
  return impl_->conn.run("idempotency purge", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_purge, pg_detail::clamp_timestamp(before_us));
    return static_cast<std::size_t>(r.affected_rows());
  });
}

}  // namespace keyledger::infra

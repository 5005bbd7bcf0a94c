#include "infra/pg/pg_telemetry_store.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

using pg_detail::array_literal;
using pg_detail::field_text;
using pg_detail::parse_integer;

constexpr const char* stmt_write = "kl_telemetry_write";
constexpr const char* stmt_last_uses = "kl_telemetry_last_uses";
constexpr const char* stmt_log_first = "kl_telemetry_log_first";
constexpr const char* stmt_log_after = "kl_telemetry_log_after";
constexpr const char* stmt_failures = "kl_telemetry_failures";
constexpr const char* stmt_purge_log = "kl_telemetry_purge_log";
constexpr const char* stmt_purge_failures = "kl_telemetry_purge_failures";

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
// key_requests.count is an integer (schema/004).
constexpr std::uint32_t int32_max = std::numeric_limits<std::int32_t>::max();

std::string ts(std::string_view expr) { return pg_detail::timestamptz_from_us_sql(expr); }
std::string us(std::string_view column) { return pg_detail::us_from_timestamptz_sql(column); }

// One statement for the whole batch, so it is one transaction without BEGIN/COMMIT round trips.
// Data-modifying CTEs always run to completion, whether or not the outer statement reads them.
// Each part inserts in a fixed order (key, then (workspace, ip, code)), so two writers lock
// shared rows in the same order and never deadlock each other. The request-log counts came
// later (schema/004): they are the last parameter, $15, so that the others kept their numbers.
std::string write_sql() {
  return R"sql(
WITH last_use AS (
  INSERT INTO key_last_use AS k (key_id, at, ip)
  SELECT u.key_id, )sql" +
         ts("u.at_us") + R"sql(, u.ip
    FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(key_id, at_us, ip)
   ORDER BY u.key_id
  ON CONFLICT (key_id) DO UPDATE SET at = EXCLUDED.at, ip = EXCLUDED.ip
   WHERE k.at < EXCLUDED.at
), requests AS (
  INSERT INTO key_requests (key_id, workspace_id, at, ip, code, count)
  SELECT r.key_id, r.workspace_id, )sql" +
         ts("r.at_us") + R"sql(, r.ip, r.code, r.count
    FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $15::integer[])
         WITH ORDINALITY AS r(key_id, workspace_id, at_us, ip, code, count, n)
   ORDER BY r.n
)
INSERT INTO auth_failures AS f (workspace_id, source_ip, code, count, first_at, last_at)
SELECT a.workspace_id, a.source_ip, a.code, a.count, )sql" +
         ts("a.first_us") + ", " + ts("a.last_us") + R"sql(
  FROM unnest($9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[])
    AS a(workspace_id, source_ip, code, count, first_us, last_us)
 ORDER BY a.workspace_id, a.source_ip, a.code
ON CONFLICT (workspace_id, source_ip, code) DO UPDATE
   SET count = least(f.count::numeric + EXCLUDED.count, 9223372036854775807)::bigint,
       first_at = least(f.first_at, EXCLUDED.first_at),
       last_at = greatest(f.last_at, EXCLUDED.last_at)
)sql";
}

std::unique_ptr<pqxx::connection> open_telemetry_connection(const std::string& conninfo) {
  auto conn = pg_detail::open_app_connection(conninfo);
  conn->prepare(stmt_write, write_sql());
  conn->prepare(stmt_last_uses, "SELECT key_id, " + us("at") +
                                    ", ip FROM key_last_use WHERE key_id = ANY($1::text[])");
  const std::string log_columns = "SELECT id, " + us("at") + ", ip, code, count FROM key_requests ";
  conn->prepare(stmt_log_first,
                log_columns + "WHERE key_id = $1 ORDER BY at DESC, id DESC LIMIT $2");
  // The row comparison follows the index (key_id, at DESC, id DESC) from the cursor on.
  conn->prepare(stmt_log_after, log_columns + "WHERE key_id = $1 AND (at, id) < (" + ts("$2") +
                                    ", $3) ORDER BY at DESC, id DESC LIMIT $4");
  conn->prepare(stmt_failures,
                "SELECT source_ip, code, count, " + us("first_at") + ", " + us("last_at") +
                    " FROM auth_failures WHERE workspace_id = $1 AND last_at >= " + ts("$2") +
                    " ORDER BY last_at DESC, source_ip, code LIMIT $3");
  conn->prepare(stmt_purge_log, "DELETE FROM key_requests WHERE at < " + ts("$1"));
  conn->prepare(stmt_purge_failures, "DELETE FROM auth_failures WHERE last_at < " + ts("$1"));
  return conn;
}

bool storable(std::string_view text) noexcept {
  return text.size() <= pg_telemetry_store::max_text_bytes && pg_detail::is_storable_text(text);
}

bool storable_name(std::string_view text) noexcept { return !text.empty() && storable(text); }

std::int64_t clamp_limit(std::size_t limit) noexcept {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(int64_max)));
}

}  // namespace

struct pg_telemetry_store::impl {
  pg_detail::lazy_connection conn;

  explicit impl(std::string conninfo) : conn(std::move(conninfo), &open_telemetry_connection) {}
};

pg_telemetry_store::pg_telemetry_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_telemetry_store::~pg_telemetry_store() = default;

void pg_telemetry_store::write(std::span<const key_use> uses,
                               std::span<const auth_failure_count> failures) {
  // Last use per key: the latest of the batch (an upsert may touch a row once per statement).
  std::map<std::string_view, const key_use*> latest;
  array_literal rq_key, rq_workspace, rq_at, rq_ip, rq_code, rq_count;
  std::size_t requests = 0;
  for (const key_use& u : uses) {
    if (u.count == 0 || !storable_name(u.key_id) || !storable(u.workspace_id) || !storable(u.ip) ||
        !storable_name(u.code) || !pg_detail::is_storable_timestamp(u.at_us)) {
      continue;
    }
    auto [it, inserted] = latest.emplace(u.key_id, &u);
    if (!inserted && it->second->at_us < u.at_us) it->second = &u;
    if (!u.log_request) continue;
    rq_key.add(u.key_id);
    rq_workspace.add(u.workspace_id);
    rq_at.add(u.at_us);
    rq_ip.add(u.ip);
    rq_code.add(u.code);
    rq_count.add(static_cast<std::int64_t>(std::min(u.count, int32_max)));
    ++requests;
  }
  array_literal lu_key, lu_at, lu_ip;
  for (const auto& [key_id, u] : latest) {
    lu_key.add(key_id);
    lu_at.add(u->at_us);
    lu_ip.add(u->ip);
  }

  // Failure rows merged per (workspace, ip, code): one upsert per row and statement.
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, auth_failure_count>
      merged;
  for (const auth_failure_count& f : failures) {
    if (f.count == 0 || !storable(f.workspace_id) || !storable(f.source_ip) ||
        !storable_name(f.code) || !pg_detail::is_storable_timestamp(f.first_at_us) ||
        !pg_detail::is_storable_timestamp(f.last_at_us)) {
      continue;
    }
    const std::uint64_t count = std::min<std::uint64_t>(f.count, int64_max);
    auto [it, inserted] = merged.try_emplace({f.workspace_id, f.source_ip, f.code}, f);
    auth_failure_count& row = it->second;
    if (inserted) {
      row.count = count;
      row.first_at_us = std::min(f.first_at_us, f.last_at_us);
      row.last_at_us = std::max(f.first_at_us, f.last_at_us);
      continue;
    }
    row.count = std::min<std::uint64_t>(row.count + count, int64_max);  // no wrap: both <= 2^63
    row.first_at_us = std::min({row.first_at_us, f.first_at_us, f.last_at_us});
    row.last_at_us = std::max({row.last_at_us, f.first_at_us, f.last_at_us});
  }
  array_literal af_workspace, af_ip, af_code, af_count, af_first, af_last;
  for (const auto& [k, f] : merged) {
    af_workspace.add(f.workspace_id);
    af_ip.add(f.source_ip);
    af_code.add(f.code);
    af_count.add(static_cast<std::int64_t>(f.count));
    af_first.add(f.first_at_us);
    af_last.add(f.last_at_us);
  }

  if (latest.empty() && requests == 0 && merged.empty()) return;
  impl_->conn.run(
      "telemetry write",
      [&](pqxx::connection& c) {
        pqxx::nontransaction txn(c);
        txn.exec_prepared(stmt_write, lu_key.str(), lu_at.str(), lu_ip.str(), rq_key.str(),
                          rq_workspace.str(), rq_at.str(), rq_ip.str(), rq_code.str(),
                          af_workspace.str(), af_ip.str(), af_code.str(), af_count.str(),
                          af_first.str(), af_last.str(), rq_count.str());
      },
      pg_detail::on_broken::fail);
}

std::vector<last_use> pg_telemetry_store::last_uses(std::span<const std::string> key_ids) {
  array_literal ids;
  bool any = false;
  for (const std::string& id : key_ids) {
    if (!storable_name(id)) continue;
    ids.add(id);
    any = true;
  }
  if (!any) return {};
  return impl_->conn.run("telemetry last_uses", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_last_uses, ids.str());
    std::vector<last_use> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      out.push_back(
          last_use{field_text(row[0]), parse_integer<std::int64_t>(row[1]), field_text(row[2])});
    }
    return out;
  });
}

std::vector<request_log_entry> pg_telemetry_store::request_log(
    std::string_view key_id, std::optional<std::pair<std::int64_t, std::int64_t>> before,
    std::size_t limit) {
  if (limit == 0 || !storable_name(key_id)) return {};
  // Nothing is older than the first storable instant; a cursor past the last one is the last.
  if (before && before->first < pg_detail::min_timestamp_us) return {};
  if (before && !pg_detail::is_storable_timestamp(before->first)) {
    before = std::pair{pg_detail::end_timestamp_us - 1, int64_max};
  }
  return impl_->conn.run("telemetry request_log", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r =
        before ? txn.exec_prepared(stmt_log_after, std::string(key_id), before->first,
                                   before->second, clamp_limit(limit))
               : txn.exec_prepared(stmt_log_first, std::string(key_id), clamp_limit(limit));
    std::vector<request_log_entry> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      out.push_back(request_log_entry{parse_integer<std::int64_t>(row[0]),
                                      parse_integer<std::int64_t>(row[1]), field_text(row[2]),
                                      field_text(row[3]), parse_integer<std::uint64_t>(row[4])});
    }
    return out;
  });
}

std::vector<auth_failure_count> pg_telemetry_store::auth_failures(std::string_view workspace_id,
                                                                  std::int64_t since_us,
                                                                  std::size_t limit) {
  if (limit == 0 || !storable(workspace_id)) return {};
  return impl_->conn.run("telemetry auth_failures", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r =
        txn.exec_prepared(stmt_failures, std::string(workspace_id),
                          pg_detail::clamp_timestamp(since_us), clamp_limit(limit));
    std::vector<auth_failure_count> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      out.push_back(auth_failure_count{std::string(workspace_id), field_text(row[0]),
                                       field_text(row[1]), parse_integer<std::uint64_t>(row[2]),
                                       parse_integer<std::int64_t>(row[3]),
                                       parse_integer<std::int64_t>(row[4])});
    }
    return out;
  });
}

std::size_t pg_telemetry_store::purge_request_log(std::int64_t before_us) {
  return impl_->conn.run("telemetry purge_request_log", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_purge_log, pg_detail::clamp_timestamp(before_us));
    return static_cast<std::size_t>(r.affected_rows());
  });
}

std::size_t pg_telemetry_store::purge_auth_failures(std::int64_t before_us) {
  return impl_->conn.run("telemetry purge_auth_failures", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r =
        txn.exec_prepared(stmt_purge_failures, pg_detail::clamp_timestamp(before_us));
    return static_cast<std::size_t>(r.affected_rows());
  });
}

}  // namespace keyledger::infra

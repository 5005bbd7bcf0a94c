#include "infra/pg/pg_audit_store.hpp"

#include <map>
#include <pqxx/pqxx>
#include <span>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

using pg_detail::array_literal;
using pg_detail::parse_integer;

// Every writer of the tree takes this transaction-scoped advisory lock ("kl-audit" in ASCII).
constexpr std::int64_t audit_lock_key = 0x6b6c2d6175646974;

constexpr const char* stmt_key_get = "kl_audit_key_get";
constexpr const char* stmt_key_put = "kl_audit_key_put";
constexpr const char* stmt_size = "kl_audit_size";
constexpr const char* stmt_nodes = "kl_audit_nodes";
constexpr const char* stmt_log_head = "kl_audit_log_head";
constexpr const char* stmt_leaves = "kl_audit_leaves";
constexpr const char* stmt_put_nodes = "kl_audit_put_nodes";
constexpr const char* stmt_put_owners = "kl_audit_put_owners";
constexpr const char* stmt_put_checkpoint = "kl_audit_put_checkpoint";
constexpr const char* stmt_checkpoints = "kl_audit_checkpoints";
constexpr const char* stmt_latest = "kl_audit_latest";
constexpr const char* stmt_checkpoint_at = "kl_audit_checkpoint_at";
constexpr const char* stmt_workspace_events = "kl_audit_workspace_events";

std::string checkpoint_columns() {
  return "tree_size, encode(root_hash, 'hex'), " + pg_detail::us_from_timestamptz_sql("signed_at") +
         ", note";
}

std::unique_ptr<pqxx::connection> open_audit_connection(const std::string& conninfo) {
  auto conn = pg_detail::open_app_connection(conninfo);
  conn->prepare(stmt_key_get,
                "SELECT origin, encode(public_key, 'hex'), encode(sealed, 'hex') "
                "FROM audit_checkpoint_key");
  conn->prepare(stmt_key_put,
                "INSERT INTO audit_checkpoint_key (origin, public_key, sealed) "
                "VALUES ($1, decode($2, 'hex'), decode($3, 'hex')) ON CONFLICT DO NOTHING");
  conn->prepare(stmt_size,
                "SELECT coalesce((SELECT idx + 1 FROM audit_tree_nodes WHERE level = 0 "
                "ORDER BY idx DESC LIMIT 1), 0)");
  conn->prepare(
      stmt_log_head,
      "SELECT coalesce((SELECT global_seq FROM events ORDER BY global_seq DESC LIMIT 1), 0)");
  conn->prepare(stmt_nodes,
                "SELECT n.level, n.idx, encode(n.hash, 'hex') FROM audit_tree_nodes n "
                "JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) "
                "ON n.level = w.level AND n.idx = w.idx");
  // The payload of a stream's first event only: it names the stream's workspace.
  conn->prepare(stmt_leaves,
                "SELECT global_seq, encode(hash, 'hex'), stream_id, version, "
                "CASE WHEN version = 1 THEN type END, CASE WHEN version = 1 THEN payload END "
                "FROM events WHERE global_seq > $1 ORDER BY global_seq LIMIT $2");
  conn->prepare(stmt_put_nodes,
                "INSERT INTO audit_tree_nodes (level, idx, hash) "
                "SELECT l, i, decode(h, 'hex') FROM unnest($1::smallint[], $2::bigint[], "
                "$3::text[]) AS r(l, i, h)");
  conn->prepare(stmt_put_owners,
                "INSERT INTO audit_streams (stream_id, workspace_id) "
                "SELECT s, w FROM unnest($1::text[], $2::text[]) AS r(s, w) "
                "ON CONFLICT (stream_id) DO NOTHING");
  conn->prepare(stmt_put_checkpoint,
                "INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, note) "
                "VALUES ($1, decode($2, 'hex'), " +
                    pg_detail::timestamptz_from_us_sql("$3::bigint") +
                    ", $4) ON CONFLICT (tree_size) DO NOTHING RETURNING 1");
  conn->prepare(stmt_checkpoints, "SELECT " + checkpoint_columns() +
                                      " FROM audit_checkpoints WHERE tree_size >= $1 "
                                      "ORDER BY tree_size LIMIT $2");
  conn->prepare(stmt_latest, "SELECT " + checkpoint_columns() +
                                 " FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
  conn->prepare(stmt_checkpoint_at,
                "SELECT " + checkpoint_columns() + " FROM audit_checkpoints WHERE tree_size = $1");
  // The event before each one is found by its primary key: its hash is the chain's link.
  conn->prepare(stmt_workspace_events,
                "SELECT " + pg_detail::event_columns_sql("e.") +
                    ", coalesce((SELECT encode(p.hash, 'hex') FROM events p "
                    "WHERE p.global_seq = e.global_seq - 1), repeat('0', 64)) "
                    "FROM events e JOIN audit_streams s ON s.stream_id = e.stream_id "
                    "WHERE s.workspace_id = $1 AND e.global_seq > $2 AND e.global_seq <= $3 "
                    "ORDER BY e.global_seq LIMIT $4");
  return conn;
}

using pg_detail::hex_of;
std::string hex_of(std::span<const std::uint8_t> bytes) { return to_hex(bytes); }

sha256_digest digest_of(const pqxx::field& f) {
  sha256_digest d{};
  if (!from_hex(std::string_view(f.c_str(), f.size()), d)) {
    throw error(errc::storage, "audit: malformed hash from database");
  }
  return d;
}

std::string bytes_of(const pqxx::field& f) {
  std::string out;
  if (!pg_detail::decode_hex(std::string_view(f.c_str(), f.size()), out)) {
    throw error(errc::storage, "audit: malformed bytes from database");
  }
  return out;
}

stored_checkpoint parse_checkpoint(const pqxx::row& row) {
  stored_checkpoint c;
  c.tree_size = parse_integer<std::uint64_t>(row[0]);
  c.root = digest_of(row[1]);
  c.signed_at_us = parse_integer<std::int64_t>(row[2]);
  c.note = pg_detail::field_text(row[3]);
  return c;
}

std::int64_t as_bigint(std::uint64_t v) {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max()));
}

std::optional<checkpoint_key_row> read_key(pqxx::transaction_base& txn) {
  const pqxx::result r = txn.exec_prepared(stmt_key_get);
  if (r.empty()) return std::nullopt;
  return checkpoint_key_row{pg_detail::field_text(r[0][0]), bytes_of(r[0][1]), bytes_of(r[0][2])};
}

std::uint64_t read_size(pqxx::transaction_base& txn) {
  return parse_integer<std::uint64_t>(txn.exec_prepared1(stmt_size)[0]);
}

bool insert_checkpoint(pqxx::transaction_base& txn, const stored_checkpoint& c) {
  return !txn.exec_prepared(stmt_put_checkpoint, as_bigint(c.tree_size), hex_of(c.root),
                            c.signed_at_us, c.note)
              .empty();
}

}  // namespace

struct pg_audit_store::impl {
  pg_detail::lazy_connection conn;
  explicit impl(std::string conninfo) : conn(std::move(conninfo), &open_audit_connection) {}
};

pg_audit_store::pg_audit_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_audit_store::~pg_audit_store() = default;

std::optional<checkpoint_key_row> pg_audit_store::checkpoint_key() {
  return impl_->conn.run("audit checkpoint key", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    return read_key(txn);
  });
}

checkpoint_key_row pg_audit_store::create_checkpoint_key(const checkpoint_key_row& row) {
  return impl_->conn.run("audit create checkpoint key", [&](pqxx::connection& c) {
    pqxx::work txn(c);
    txn.exec_prepared(stmt_key_put, row.origin, hex_of(row.public_key), hex_of(row.sealed));
    auto stored = read_key(txn);
    txn.commit();
    if (!stored) throw error(errc::storage, "audit: the checkpoint key was not stored");
    return *stored;
  });
}

std::uint64_t pg_audit_store::tree_size() {
  return impl_->conn.run("audit tree size", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    return read_size(txn);
  });
}

std::uint64_t pg_audit_store::log_head() {
  return impl_->conn.run("audit log head", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    return parse_integer<std::uint64_t>(txn.exec_prepared1(stmt_log_head)[0]);
  });
}

std::vector<sha256_digest> pg_audit_store::nodes(std::span<const tree_node_id> ids) {
  if (ids.empty()) return {};
  array_literal levels;
  array_literal indexes;
  for (const auto& id : ids) {
    levels.add(static_cast<std::int64_t>(id.level));
    indexes.add(as_bigint(id.index));
  }
  return impl_->conn.run("audit nodes", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_nodes, levels.str(), indexes.str());
    std::map<std::pair<std::uint8_t, std::uint64_t>, sha256_digest> found;
    for (const auto& row : r) {
      found.emplace(
          std::pair{parse_integer<std::uint8_t>(row[0]), parse_integer<std::uint64_t>(row[1])},
          digest_of(row[2]));
    }
    std::vector<sha256_digest> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
      const auto it = found.find({id.level, id.index});
      if (it == found.end()) {
        throw error(errc::storage, "audit: tree node " + std::to_string(id.level) + "/" +
                                       std::to_string(id.index) + " is not stored");
      }
      out.push_back(it->second);
    }
    return out;
  });
}

std::vector<audit_leaf> pg_audit_store::leaves(std::uint64_t after, std::size_t limit) {
  return impl_->conn.run("audit leaves", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_leaves, as_bigint(after), as_bigint(limit));
    std::vector<audit_leaf> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      audit_leaf l;
      l.global_seq = parse_integer<std::uint64_t>(row[0]);
      l.event_hash = digest_of(row[1]);
      l.stream_id = pg_detail::field_text(row[2]);
      l.version = parse_integer<std::uint64_t>(row[3]);
      if (!row[4].is_null()) l.type = pg_detail::field_text(row[4]);
      if (!row[5].is_null()) l.payload = pg_detail::field_text(row[5]);
      out.push_back(std::move(l));
    }
    return out;
  });
}

void pg_audit_store::extend(const tree_extension& ext) {
  array_literal levels;
  array_literal indexes;
  array_literal hashes;
  for (const auto& n : ext.nodes) {
    levels.add(static_cast<std::int64_t>(n.id.level));
    indexes.add(as_bigint(n.id.index));
    hashes.add(hex_of(n.hash));
  }
  array_literal streams;
  array_literal workspaces;
  for (const auto& o : ext.owners) {
    streams.add(o.stream_id);
    workspaces.add(o.workspace_id);
  }
  impl_->conn.run(
      "audit extend",
      [&](pqxx::connection& c) {
        pqxx::work txn(c);
        txn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(audit_lock_key) + ")");
        if (read_size(txn) != ext.from_size) {
          throw error(errc::conflict, "audit: the tree grew meanwhile");
        }
        if (!ext.nodes.empty()) {
          txn.exec_prepared(stmt_put_nodes, levels.str(), indexes.str(), hashes.str());
        }
        if (!ext.owners.empty()) {
          txn.exec_prepared(stmt_put_owners, streams.str(), workspaces.str());
        }
        if (ext.checkpoint) insert_checkpoint(txn, *ext.checkpoint);
        txn.commit();
      },
      pg_detail::on_broken::fail);
}

bool pg_audit_store::add_checkpoint(const stored_checkpoint& checkpoint) {
  return impl_->conn.run(
      "audit add checkpoint",
      [&](pqxx::connection& c) {
        pqxx::work txn(c);
        txn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(audit_lock_key) + ")");
        if (read_size(txn) != checkpoint.tree_size) return false;
        const pqxx::result latest = txn.exec_prepared(stmt_latest);
        if (!latest.empty() && parse_integer<std::uint64_t>(latest[0][0]) >= checkpoint.tree_size) {
          return false;
        }
        const bool added = insert_checkpoint(txn, checkpoint);
        txn.commit();
        return added;
      },
      pg_detail::on_broken::fail);
}

std::vector<stored_checkpoint> pg_audit_store::checkpoints(std::uint64_t from_size,
                                                           std::size_t limit) {
  return impl_->conn.run("audit checkpoints", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    const pqxx::result r =
        txn.exec_prepared(stmt_checkpoints, as_bigint(from_size), as_bigint(limit));
    std::vector<stored_checkpoint> out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(parse_checkpoint(row));
    return out;
  });
}

std::optional<stored_checkpoint> pg_audit_store::latest_checkpoint() {
  return impl_->conn.run("audit latest checkpoint",
                         [&](pqxx::connection& c) -> std::optional<stored_checkpoint> {
                           pqxx::read_transaction txn(c);
                           const pqxx::result r = txn.exec_prepared(stmt_latest);
                           if (r.empty()) return std::nullopt;
                           return parse_checkpoint(r[0]);
                         });
}

std::optional<stored_checkpoint> pg_audit_store::checkpoint_at(std::uint64_t tree_size) {
  return impl_->conn.run(
      "audit checkpoint at", [&](pqxx::connection& c) -> std::optional<stored_checkpoint> {
        pqxx::read_transaction txn(c);
        const pqxx::result r = txn.exec_prepared(stmt_checkpoint_at, as_bigint(tree_size));
        if (r.empty()) return std::nullopt;
        return parse_checkpoint(r[0]);
      });
}

std::vector<audit_store::workspace_event> pg_audit_store::workspace_events(
    std::string_view workspace_id, std::uint64_t after, std::uint64_t up_to, std::size_t limit) {
  const std::string ws(workspace_id);
  return impl_->conn.run("audit workspace events", [&](pqxx::connection& c) {
    pqxx::read_transaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_workspace_events, ws, as_bigint(after),
                                             as_bigint(up_to), as_bigint(limit));
    std::vector<workspace_event> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      workspace_event w;
      w.event = pg_detail::parse_event_row(row);
      w.previous_hash = digest_of(row[9]);
      out.push_back(std::move(w));
    }
    return out;
  });
}

}  // namespace keyledger::infra

#include "infra/pg/pg_people_store.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

using pg_detail::field_text;
using pg_detail::parse_integer;

constexpr const char* stmt_set_password = "kl_people_set_password";
constexpr const char* stmt_password = "kl_people_password";
constexpr const char* stmt_add_invitation = "kl_people_add_invitation";
constexpr const char* stmt_consume_invitation = "kl_people_consume_invitation";
constexpr const char* stmt_delete_invitations = "kl_people_delete_invitations";
constexpr const char* stmt_add_session = "kl_people_add_session";
constexpr const char* stmt_find_session = "kl_people_find_session";
constexpr const char* stmt_touch_session = "kl_people_touch_session";
constexpr const char* stmt_delete_session = "kl_people_delete_session";
constexpr const char* stmt_delete_sessions = "kl_people_delete_sessions";
constexpr const char* stmt_purge = "kl_people_purge";

std::string ts(std::string_view expr) { return pg_detail::timestamptz_from_us_sql(expr); }
std::string us(std::string_view column) { return pg_detail::us_from_timestamptz_sql(column); }

std::unique_ptr<pqxx::connection> open_people_connection(const std::string& conninfo) {
  auto conn = pg_detail::open_app_connection(conninfo);
  conn->prepare(
      stmt_set_password,
      "INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, " +
          ts("$3") +
          ") ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
          "updated_at = EXCLUDED.updated_at");
  conn->prepare(stmt_password, "SELECT password_hash FROM user_credentials WHERE user_id = $1");
  conn->prepare(stmt_add_invitation,
                "INSERT INTO invitations (token_hash, user_id, workspace_id, expires_at) VALUES "
                "($1, $2, $3, " +
                    ts("$4") + ")");
  // One statement: a concurrent consumer of the same row waits for this one's commit, then
  // finds the row gone and returns nothing. Expired rows are deleted too (the caller refuses
  // them), so an expired token cannot be tried twice either.
  conn->prepare(stmt_consume_invitation,
                "DELETE FROM invitations WHERE token_hash = $1 RETURNING user_id, workspace_id, " +
                    us("expires_at"));
  conn->prepare(stmt_delete_invitations,
                "DELETE FROM invitations WHERE user_id = $1 AND workspace_id = $2");
  conn->prepare(stmt_add_session,
                "INSERT INTO sessions (id_hash, user_id, workspace_id, created_at, last_seen_at) "
                "VALUES ($1, $2, $3, " +
                    ts("$4") + ", " + ts("$5") + ")");
  conn->prepare(stmt_find_session, "SELECT user_id, workspace_id, " + us("created_at") + ", " +
                                       us("last_seen_at") + " FROM sessions WHERE id_hash = $1");
  conn->prepare(stmt_touch_session, "UPDATE sessions SET last_seen_at = " + ts("$2") +
                                        " WHERE id_hash = $1 AND last_seen_at < " + ts("$2"));
  conn->prepare(stmt_delete_session, "DELETE FROM sessions WHERE id_hash = $1");
  conn->prepare(stmt_delete_sessions,
                "DELETE FROM sessions WHERE user_id = $1 AND workspace_id = $2");
  // Data-modifying CTEs always run to completion; the outer SELECT only adds up their rows.
  conn->prepare(stmt_purge,
                "WITH s AS (DELETE FROM sessions WHERE last_seen_at < " + ts("$1") +
                    " OR created_at < " + ts("$2") +
                    " RETURNING 1), i AS (DELETE FROM invitations WHERE expires_at <= " + ts("$3") +
                    " RETURNING 1) SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM i)");
  return conn;
}

/// An id that can name a row: non-empty storable text of bounded length.
bool storable_id(std::string_view text) noexcept {
  return !text.empty() && text.size() <= pg_people_store::max_text_bytes &&
         pg_detail::is_storable_text(text);
}

/// The stored form of tokens and session ids: exactly 64 lowercase hex characters.
bool valid_hash(std::string_view hash) noexcept {
  if (hash.size() != 64) return false;
  for (char c : hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

[[noreturn]] void refuse(std::string_view operation, std::string_view what) {
  throw error(errc::bad_request, std::string(operation) + ": " + std::string(what));
}

}  // namespace

struct pg_people_store::impl {
  pg_detail::lazy_connection conn;

  explicit impl(std::string conninfo) : conn(std::move(conninfo), &open_people_connection) {}
};

pg_people_store::pg_people_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_people_store::~pg_people_store() = default;

void pg_people_store::set_password_hash(std::string_view user_id, std::string_view encoded_hash,
                                        std::int64_t now_us) {
  constexpr std::string_view op = "people set_password_hash";
  if (!storable_id(user_id)) refuse(op, "user id empty, too long or not valid UTF-8 text");
  if (!storable_id(encoded_hash)) refuse(op, "password hash empty, too long or not text");
  if (!pg_detail::is_storable_timestamp(now_us)) refuse(op, "now out of range");
  impl_->conn.run(op, [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_set_password, std::string(user_id), std::string(encoded_hash), now_us);
  });
}

std::optional<std::string> pg_people_store::password_hash(std::string_view user_id) {
  if (!storable_id(user_id)) return std::nullopt;
  return impl_->conn.run(
      "people password_hash", [&](pqxx::connection& c) -> std::optional<std::string> {
        pqxx::nontransaction txn(c);
        const pqxx::result r = txn.exec_prepared(stmt_password, std::string(user_id));
        if (r.empty()) return std::nullopt;
        return field_text(r[0][0]);
      });
}

void pg_people_store::add_invitation(const invitation_record& invitation) {
  constexpr std::string_view op = "people add_invitation";
  if (!valid_hash(invitation.token_hash)) refuse(op, "token hash is not 64 lowercase hex");
  if (!storable_id(invitation.user_id) || !storable_id(invitation.workspace_id)) {
    refuse(op, "user or workspace id empty, too long or not valid UTF-8 text");
  }
  if (!pg_detail::is_storable_timestamp(invitation.expires_at_us)) {
    refuse(op, "expiry out of range");
  }
  impl_->conn.run(
      op,
      [&](pqxx::connection& c) {
        pqxx::nontransaction txn(c);
        txn.exec_prepared(stmt_add_invitation, invitation.token_hash, invitation.user_id,
                          invitation.workspace_id, invitation.expires_at_us);
      },
      pg_detail::on_broken::fail);
}

std::optional<invitation_record> pg_people_store::consume_invitation(std::string_view token_hash,
                                                                     std::int64_t now_us) {
  if (!valid_hash(token_hash)) return std::nullopt;
  return impl_->conn.run(
      "people consume_invitation",
      [&](pqxx::connection& c) -> std::optional<invitation_record> {
        pqxx::nontransaction txn(c);
        const pqxx::result r = txn.exec_prepared(stmt_consume_invitation, std::string(token_hash));
        if (r.empty()) return std::nullopt;
        invitation_record record{std::string(token_hash), field_text(r[0][0]), field_text(r[0][1]),
                                 parse_integer<std::int64_t>(r[0][2])};
        if (record.expires_at_us <= now_us) return std::nullopt;
        return record;
      },
      pg_detail::on_broken::fail);
}

std::size_t pg_people_store::delete_invitations(std::string_view user_id,
                                                std::string_view workspace_id) {
  if (!storable_id(user_id) || !storable_id(workspace_id)) return 0;
  return impl_->conn.run("people delete_invitations", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r =
        txn.exec_prepared(stmt_delete_invitations, std::string(user_id), std::string(workspace_id));
    return static_cast<std::size_t>(r.affected_rows());
  });
}

void pg_people_store::add_session(const session_record& session) {
  constexpr std::string_view op = "people add_session";
  if (!valid_hash(session.id_hash)) refuse(op, "session id hash is not 64 lowercase hex");
  if (!storable_id(session.user_id) || !storable_id(session.workspace_id)) {
    refuse(op, "user or workspace id empty, too long or not valid UTF-8 text");
  }
  if (!pg_detail::is_storable_timestamp(session.created_at_us) ||
      !pg_detail::is_storable_timestamp(session.last_seen_at_us) ||
      session.last_seen_at_us < session.created_at_us) {
    refuse(op, "instants out of range or last seen before created");
  }
  impl_->conn.run(
      op,
      [&](pqxx::connection& c) {
        pqxx::nontransaction txn(c);
        txn.exec_prepared(stmt_add_session, session.id_hash, session.user_id, session.workspace_id,
                          session.created_at_us, session.last_seen_at_us);
      },
      pg_detail::on_broken::fail);
}

std::optional<session_record> pg_people_store::find_session(std::string_view id_hash) {
  if (!valid_hash(id_hash)) return std::nullopt;
  return impl_->conn.run(
      "people find_session", [&](pqxx::connection& c) -> std::optional<session_record> {
        pqxx::nontransaction txn(c);
        const pqxx::result r = txn.exec_prepared(stmt_find_session, std::string(id_hash));
        if (r.empty()) return std::nullopt;
        const pqxx::row row = r[0];
        return session_record{std::string(id_hash), field_text(row[0]), field_text(row[1]),
                              parse_integer<std::int64_t>(row[2]),
                              parse_integer<std::int64_t>(row[3])};
      });
}

void pg_people_store::touch_session(std::string_view id_hash, std::int64_t now_us) {
  if (!valid_hash(id_hash)) return;
  impl_->conn.run("people touch_session", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_touch_session, std::string(id_hash), pg_detail::clamp_timestamp(now_us));
  });
}

void pg_people_store::delete_session(std::string_view id_hash) {
  if (!valid_hash(id_hash)) return;
  impl_->conn.run("people delete_session", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    txn.exec_prepared(stmt_delete_session, std::string(id_hash));
  });
}

std::size_t pg_people_store::delete_sessions(std::string_view user_id,
                                             std::string_view workspace_id) {
  if (!storable_id(user_id) || !storable_id(workspace_id)) return 0;
  return impl_->conn.run("people delete_sessions", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r =
        txn.exec_prepared(stmt_delete_sessions, std::string(user_id), std::string(workspace_id));
    return static_cast<std::size_t>(r.affected_rows());
  });
}

std::size_t pg_people_store::purge(std::int64_t idle_before_us, std::int64_t created_before_us,
                                   std::int64_t now_us) {
  return impl_->conn.run("people purge", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_purge, pg_detail::clamp_timestamp(idle_before_us),
                                             pg_detail::clamp_timestamp(created_before_us),
                                             pg_detail::clamp_timestamp(now_us));
    return parse_integer<std::size_t>(r[0][0]);
  });
}

}  // namespace keyledger::infra

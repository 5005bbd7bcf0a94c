#include "infra/pg/pg_signing_key_store.hpp"

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "domain/oauth/signing_keys.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/secret.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

constexpr const char* stmt_put = "kl_sigkey_put";
constexpr const char* stmt_get = "kl_sigkey_get";

std::unique_ptr<pqxx::connection> open_signing_key_connection(const std::string& conninfo) {
  auto conn = pg_detail::open_app_connection(conninfo);
  // Returns a row only when this call stored the key.
  conn->prepare(stmt_put,
                "INSERT INTO signing_key_secrets (kid, sealed) VALUES ($1, decode($2, 'hex')) "
                "ON CONFLICT (kid) DO NOTHING RETURNING 1");
  conn->prepare(stmt_get, "SELECT encode(sealed, 'hex') FROM signing_key_secrets WHERE kid = $1");
  return conn;
}

std::optional<std::string> read(pqxx::transaction_base& txn, const std::string& kid) {
  const pqxx::result r = txn.exec_prepared(stmt_get, kid);
  if (r.empty()) return std::nullopt;
  std::string sealed;
  if (!pg_detail::decode_hex(std::string_view(r[0][0].c_str(), r[0][0].size()), sealed)) {
    throw error(errc::storage, "signing key get: malformed bytes from database");
  }
  return sealed;
}

}  // namespace

struct pg_signing_key_store::impl {
  pg_detail::lazy_connection conn;

  explicit impl(std::string conninfo) : conn(std::move(conninfo), &open_signing_key_connection) {}
};

pg_signing_key_store::pg_signing_key_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_signing_key_store::~pg_signing_key_store() = default;

void pg_signing_key_store::put(std::string_view kid, std::string_view sealed) {
  if (!domain::oauth::valid_signing_key_id(kid) || sealed.empty()) {
    throw error(errc::bad_request, "signing key put: kid malformed or no bytes");
  }
  const std::string kid_text(kid);
  const std::string sealed_hex = pg_detail::hex_of(sealed);
  impl_->conn.run("signing key put", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    if (!txn.exec_prepared(stmt_put, kid_text, sealed_hex).empty()) return;
    // Stored before: a repeat of this put (same bytes) is done; anything else is refused.
    const auto stored = read(txn, kid_text);
    if (!stored || !constant_time_equal(*stored, sealed)) {
      throw error(errc::conflict, "signing key put: another key is stored under " + kid_text);
    }
  });
}

std::optional<std::string> pg_signing_key_store::get(std::string_view kid) {
  if (!domain::oauth::valid_signing_key_id(kid)) return std::nullopt;
  const std::string kid_text(kid);
  return impl_->conn.run("signing key get", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    return read(txn, kid_text);
  });
}

}  // namespace keyledger::infra

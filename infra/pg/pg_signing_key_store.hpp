#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/signing_key_store.hpp"

namespace keyledger::infra {

/// Sealed signing keys in PostgreSQL (schema/006: signing_key_secrets). Owns one connection
/// (libpqxx 6.4), opened lazily with `SET ROLE keyledger_app` when the login role is a member,
/// statements prepared once per connection; both operations are retried once on a new
/// connection after a broken one (a repeated put of the same bytes changes nothing). Not
/// thread-safe: one instance per thread.
///
/// put() is `INSERT ... ON CONFLICT DO NOTHING`; when the kid was stored already, the stored
/// bytes are read back: the same bytes are a repeat, other bytes a conflict. Errors are
/// infra::error: bad_request, conflict, unavailable, storage. No error text holds the bytes.
class pg_signing_key_store final : public signing_key_store {
 public:
  explicit pg_signing_key_store(std::string conninfo);
  ~pg_signing_key_store() override;
  pg_signing_key_store(const pg_signing_key_store&) = delete;
  pg_signing_key_store& operator=(const pg_signing_key_store&) = delete;

  void put(std::string_view kid, std::string_view sealed) override;
  std::optional<std::string> get(std::string_view kid) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/idempotency_store.hpp"

namespace keyledger::infra {

/// Stored responses for Idempotency-Key in PostgreSQL (schema/002: idempotency_keys). Owns one
/// connection (libpqxx 6.4), opened lazily with `SET ROLE keyledger_app` when the login role is
/// a member, statements prepared once per connection. Not thread-safe: one instance per thread.
///
/// claim() is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE created_at < expired_before`: the
/// unique (scope, key) makes concurrent claimers queue on the row, and exactly one of them
/// inserts (or replaces an expired record); the others then read the winner's record. It is not
/// retried after a broken connection (the claim may have been stored: the caller answers 503 and
/// the client's retry finds the record). complete(), release() and purge() are retried once on
/// a new connection (repeating them changes nothing). complete() only fills a pending record and
/// release() only drops a pending one: a stored response is never overwritten or released.
///
/// Errors are infra::error: bad_request (claim only: scope or key empty, not valid UTF-8,
/// holding NUL or longer than max_text_bytes; now_us outside timestamptz's range; complete()
/// and release() of such a pair do nothing, it cannot have been claimed), unavailable, storage.
class pg_idempotency_store final : public idempotency_store {
 public:
  /// Longest scope or key stored (the key is the client's header value).
  static constexpr std::size_t max_text_bytes = 1024;

  explicit pg_idempotency_store(std::string conninfo);
  ~pg_idempotency_store() override;
  pg_idempotency_store(const pg_idempotency_store&) = delete;
  pg_idempotency_store& operator=(const pg_idempotency_store&) = delete;

  std::optional<idempotency_record> claim(std::string_view scope, std::string_view key,
                                          const sha256_digest& fingerprint, std::int64_t now_us,
                                          std::int64_t expired_before_us) override;
  void complete(std::string_view scope, std::string_view key,
                std::string_view sealed_response) override;
  void release(std::string_view scope, std::string_view key) override;
  std::size_t purge(std::int64_t before_us) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

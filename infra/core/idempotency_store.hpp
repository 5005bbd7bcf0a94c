#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// A remembered request: who (scope = the authenticated key's id), which Idempotency-Key, a
/// SHA-256 fingerprint of the request (method, route, target id, body) and, once complete, the
/// response as opaque bytes (services seal it with AES-256-GCM before it gets here: a create
/// response holds a secret).
struct idempotency_record {
  std::string scope;
  std::string key;
  sha256_digest fingerprint{};
  bool complete = false;
  std::string response;  ///< sealed bytes; empty while pending
  std::int64_t created_at_us = 0;
};

/// Stored responses for Idempotency-Key (port). Implementation: pg_idempotency_store (table
/// idempotency_keys, schema/002). Not thread-safe: one instance per thread.
class idempotency_store {
 public:
  virtual ~idempotency_store() = default;

  /// Claims (scope, key): inserts a pending record and returns nullopt, unless a record newer
  /// than `expired_before_us` exists, which is returned unchanged (pending or complete). An
  /// older record is replaced. Atomic: of two concurrent claims exactly one gets nullopt.
  virtual std::optional<idempotency_record> claim(std::string_view scope, std::string_view key,
                                                  const sha256_digest& fingerprint,
                                                  std::int64_t now_us,
                                                  std::int64_t expired_before_us) = 0;

  /// Stores the response of a claimed record (marks it complete).
  virtual void complete(std::string_view scope, std::string_view key,
                        std::string_view sealed_response) = 0;

  /// Drops a pending claim (the request failed with 5xx, so a retry may run it again).
  virtual void release(std::string_view scope, std::string_view key) = 0;

  /// Deletes records created before `before_us`; returns how many.
  virtual std::size_t purge(std::int64_t before_us) = 0;
};

}  // namespace keyledger::infra

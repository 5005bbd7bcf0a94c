#pragma once

#include <memory>
#include <string>

#include "infra/core/audit_store.hpp"

namespace keyledger::infra {

/// The verifiable log in PostgreSQL (schema/007_audit.sql). Owns one connection (libpqxx 6.4),
/// opened lazily as keyledger_app, statements prepared once per connection. Reads are retried
/// once on a new connection after a broken one; extend() is not (it is decided again by its
/// caller from the stored size). Errors are infra::error: conflict, unavailable, storage. Not
/// thread-safe: one instance per thread.
class pg_audit_store final : public audit_store {
 public:
  explicit pg_audit_store(std::string conninfo);
  ~pg_audit_store() override;
  pg_audit_store(const pg_audit_store&) = delete;
  pg_audit_store& operator=(const pg_audit_store&) = delete;

  std::optional<checkpoint_key_row> checkpoint_key() override;
  checkpoint_key_row create_checkpoint_key(const checkpoint_key_row& row) override;
  std::uint64_t tree_size() override;
  std::uint64_t log_head() override;
  std::vector<sha256_digest> nodes(std::span<const tree_node_id> ids) override;
  std::vector<audit_leaf> leaves(std::uint64_t after, std::size_t limit) override;
  void extend(const tree_extension& ext) override;
  bool add_checkpoint(const stored_checkpoint& checkpoint) override;
  std::vector<stored_checkpoint> checkpoints(std::uint64_t from_size, std::size_t limit) override;
  std::optional<stored_checkpoint> latest_checkpoint() override;
  std::optional<stored_checkpoint> checkpoint_at(std::uint64_t tree_size) override;
  std::vector<workspace_event> workspace_events(std::string_view workspace_id, std::uint64_t after,
                                                std::uint64_t up_to, std::size_t limit) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "infra/core/audit_store.hpp"
#include "tests/support/memory_event_store.hpp"

namespace keyledger::test_support {

/// In-memory fake of infra::audit_store with pg_audit_store's semantics (a conflict when the
/// tree grew meanwhile, one checkpoint per size, nodes that are not stored are a storage error),
/// reading the events of a memory_event_store. One instance may be shared by threads.
class memory_audit_store final : public infra::audit_store {
 public:
  explicit memory_audit_store(memory_event_store& events) : events_(events) {}

  std::optional<infra::checkpoint_key_row> checkpoint_key() override;
  infra::checkpoint_key_row create_checkpoint_key(const infra::checkpoint_key_row& row) override;
  std::uint64_t tree_size() override;
  std::uint64_t log_head() override { return events_.head_seq(); }
  std::vector<infra::sha256_digest> nodes(std::span<const infra::tree_node_id> ids) override;
  std::vector<infra::audit_leaf> leaves(std::uint64_t after, std::size_t limit) override;
  void extend(const infra::tree_extension& ext) override;
  bool add_checkpoint(const infra::stored_checkpoint& checkpoint) override;
  std::vector<infra::stored_checkpoint> checkpoints(std::uint64_t from_size,
                                                    std::size_t limit) override;
  std::optional<infra::stored_checkpoint> latest_checkpoint() override;
  std::optional<infra::stored_checkpoint> checkpoint_at(std::uint64_t tree_size) override;
  std::vector<workspace_event> workspace_events(std::string_view workspace_id, std::uint64_t after,
                                                std::uint64_t up_to, std::size_t limit) override;

  /// Replaces a stored node's hash, as someone with write access to the table could.
  void tamper_node(infra::tree_node_id id, const infra::sha256_digest& hash);
  /// How many extend() calls wrote.
  std::size_t extensions() const;

 private:
  std::uint64_t size_locked() const;

  memory_event_store& events_;
  mutable std::mutex mutex_;
  std::optional<infra::checkpoint_key_row> key_;
  std::map<std::pair<std::uint8_t, std::uint64_t>, infra::sha256_digest> nodes_;
  std::map<std::uint64_t, infra::stored_checkpoint> checkpoints_;
  std::map<std::string, std::string, std::less<>> owners_;
  std::size_t extensions_ = 0;
};

}  // namespace keyledger::test_support

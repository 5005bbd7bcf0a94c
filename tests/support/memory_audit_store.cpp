#include "tests/support/memory_audit_store.hpp"

#include <algorithm>

#include "infra/core/error.hpp"

namespace keyledger::test_support {

std::optional<infra::checkpoint_key_row> memory_audit_store::checkpoint_key() {
  std::lock_guard lock(mutex_);
  return key_;
}

infra::checkpoint_key_row memory_audit_store::create_checkpoint_key(
    const infra::checkpoint_key_row& row) {
  std::lock_guard lock(mutex_);
  if (!key_) key_ = row;
  return *key_;
}

std::uint64_t memory_audit_store::size_locked() const {
  std::uint64_t n = 0;
  for (auto it = nodes_.lower_bound({0, 0}); it != nodes_.end() && it->first.first == 0; ++it) {
    n = it->first.second + 1;
  }
  return n;
}

std::uint64_t memory_audit_store::tree_size() {
  std::lock_guard lock(mutex_);
  return size_locked();
}

std::vector<infra::sha256_digest> memory_audit_store::nodes(
    std::span<const infra::tree_node_id> ids) {
  std::lock_guard lock(mutex_);
  std::vector<infra::sha256_digest> out;
  for (const auto& id : ids) {
    const auto it = nodes_.find({id.level, id.index});
    if (it == nodes_.end()) {
      throw infra::error(infra::errc::storage, "audit: node " + std::to_string(id.level) + "/" +
                                                   std::to_string(id.index) + " not stored");
    }
    out.push_back(it->second);
  }
  return out;
}

std::vector<infra::audit_leaf> memory_audit_store::leaves(std::uint64_t after, std::size_t limit) {
  std::vector<infra::audit_leaf> out;
  for (const auto& e : events_.read_all(after, limit)) {
    infra::audit_leaf l;
    l.global_seq = e.global_seq;
    l.event_hash = e.hash;
    l.stream_id = e.stream_id;
    l.version = e.version;
    if (e.version == 1) {
      l.type = e.type;
      l.payload = e.payload;
    }
    out.push_back(std::move(l));
  }
  return out;
}

void memory_audit_store::extend(const infra::tree_extension& ext) {
  std::lock_guard lock(mutex_);
  if (size_locked() != ext.from_size) {
    throw infra::error(infra::errc::conflict, "audit: the tree grew meanwhile");
  }
  for (const auto& n : ext.nodes) {
    if (!nodes_.emplace(std::pair{n.id.level, n.id.index}, n.hash).second) {
      throw infra::error(infra::errc::storage, "audit: duplicate node");
    }
  }
  for (const auto& o : ext.owners) owners_.emplace(o.stream_id, o.workspace_id);
  if (ext.checkpoint) checkpoints_.emplace(ext.checkpoint->tree_size, *ext.checkpoint);
  ++extensions_;
}

bool memory_audit_store::add_checkpoint(const infra::stored_checkpoint& checkpoint) {
  std::lock_guard lock(mutex_);
  if (size_locked() != checkpoint.tree_size) return false;
  if (!checkpoints_.empty() && checkpoints_.rbegin()->first >= checkpoint.tree_size) return false;
  return checkpoints_.emplace(checkpoint.tree_size, checkpoint).second;
}

std::vector<infra::stored_checkpoint> memory_audit_store::checkpoints(std::uint64_t from_size,
                                                                      std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<infra::stored_checkpoint> out;
  for (auto it = checkpoints_.lower_bound(from_size);
       it != checkpoints_.end() && out.size() < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::optional<infra::stored_checkpoint> memory_audit_store::latest_checkpoint() {
  std::lock_guard lock(mutex_);
  if (checkpoints_.empty()) return std::nullopt;
  return checkpoints_.rbegin()->second;
}

std::optional<infra::stored_checkpoint> memory_audit_store::checkpoint_at(std::uint64_t size) {
  std::lock_guard lock(mutex_);
  const auto it = checkpoints_.find(size);
  if (it == checkpoints_.end()) return std::nullopt;
  return it->second;
}

std::vector<infra::audit_store::workspace_event> memory_audit_store::workspace_events(
    std::string_view workspace_id, std::uint64_t after, std::uint64_t up_to, std::size_t limit) {
  const auto all = events_.events();
  std::lock_guard lock(mutex_);
  std::vector<workspace_event> out;
  for (const auto& e : all) {
    if (e.global_seq <= after || e.global_seq > up_to || out.size() >= limit) continue;
    const auto it = owners_.find(e.stream_id);
    if (it == owners_.end() || it->second != workspace_id) continue;
    workspace_event w;
    w.event = e;
    if (e.global_seq > 1) w.previous_hash = all[e.global_seq - 2].hash;
    out.push_back(std::move(w));
  }
  return out;
}

void memory_audit_store::tamper_node(infra::tree_node_id id, const infra::sha256_digest& hash) {
  std::lock_guard lock(mutex_);
  nodes_[{id.level, id.index}] = hash;
}

std::size_t memory_audit_store::extensions() const {
  std::lock_guard lock(mutex_);
  return extensions_;
}

}  // namespace keyledger::test_support

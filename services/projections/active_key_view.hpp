#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/api_key.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::services {

/// What verification needs to know about one key. Immutable once published: a change
/// (revocation) publishes a new entry, so readers hold a consistent snapshot without a lock.
struct key_entry {
  std::string key_id;
  std::string workspace_id;
  domain::environment env = domain::environment::test;
  std::vector<std::string> scopes;
  domain::key_status status = domain::key_status::active;

  bool has_scope(std::string_view scope) const noexcept;
};

struct workspace_entry {
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
};

/// The active-key view: an in-memory hash map from a key's keyed hash to its state, built
/// from the log at start-up and fed, in global order, by the subscription. Verification reads
/// it without touching Postgres. Thread-safe: one writer (the subscription thread), many
/// readers (I/O threads); readers take a shared lock only for the map probe.
class active_key_view {
 public:
  /// Applies one event. Precondition: events arrive in global_seq order, each once. Events of
  /// other types are ignored; an undecodable payload of a known type is logged and skipped
  /// (the log is the truth; a bad row must not stop every other key from working).
  void apply(const infra::recorded_event& e);

  /// The entry for a keyed hash, or null.
  std::shared_ptr<const key_entry> find(const infra::sha256_digest& key_hash) const;

  std::optional<workspace_entry> find_workspace(std::string_view workspace_id) const;

  /// The global_seq of the last event applied.
  std::uint64_t applied_seq() const noexcept { return applied_.load(std::memory_order_acquire); }

  /// Blocks until applied_seq() >= seq or the deadline passes; true if reached. For command
  /// handlers on pool threads (never an I/O thread): a command answers only once its own node
  /// applies its event.
  bool wait_applied(std::uint64_t seq, std::chrono::steady_clock::time_point deadline) const;

  std::size_t key_count() const;

 private:
  struct digest_hash {
    std::size_t operator()(const infra::sha256_digest& d) const noexcept;
  };
  void apply_key_event(const domain::api_key_event& e);

  mutable std::shared_mutex mutex_;
  std::unordered_map<infra::sha256_digest, std::shared_ptr<const key_entry>, digest_hash> by_hash_;
  std::unordered_map<std::string, infra::sha256_digest> hash_by_id_;
  std::unordered_map<std::string, workspace_entry> workspaces_;

  std::atomic<std::uint64_t> applied_{0};
  mutable std::mutex wait_mutex_;
  mutable std::condition_variable applied_cv_;
};

}  // namespace keyledger::services

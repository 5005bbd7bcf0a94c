#include "services/projections/active_key_view.hpp"

#include <algorithm>
#include <cstring>
#include <variant>

#include "infra/core/log.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"

namespace keyledger::services {

bool key_entry::has_scope(std::string_view scope) const noexcept {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::size_t active_key_view::digest_hash::operator()(const infra::sha256_digest& d) const noexcept {
  // An HMAC output is uniform and unpredictable without the server secret, so its first
  // bytes are already a good, flood-resistant hash.
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

void active_key_view::apply(const infra::recorded_event& e) {
  if (e.type == "KeyCreated" || e.type == "KeyRevoked") {
    if (auto decoded = infra::decode_api_key_event(e.type, e.payload)) {
      apply_key_event(*decoded);
    } else {
      infra::log(infra::log_level::error, "projection_skipped_event",
                 {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
    }
  } else if (e.type == "WorkspaceCreated") {
    if (auto decoded = infra::decode_workspace_event(e.type, e.payload)) {
      const auto& w = std::get<domain::workspace_created>(*decoded);
      std::unique_lock lock(mutex_);
      workspaces_[w.workspace_id] = workspace_entry{w.workspace_id, w.name, w.key_prefix};
    } else {
      infra::log(infra::log_level::error, "projection_skipped_event",
                 {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
    }
  }
  {
    // Publish under the wait mutex so a waiter cannot miss the notification.
    std::lock_guard lock(wait_mutex_);
    applied_.store(e.global_seq, std::memory_order_release);
  }
  applied_cv_.notify_all();
}

void active_key_view::apply_key_event(const domain::api_key_event& event) {
  std::visit(
      [this](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, domain::key_created>) {
          infra::sha256_digest digest{};
          if (!infra::from_hex(e.key_hash, digest)) {
            infra::log(infra::log_level::error, "projection_bad_key_hash", {{"key_id", e.key_id}});
            return;
          }
          auto entry = std::make_shared<key_entry>(
              key_entry{e.key_id, e.workspace_id, e.env, e.scopes, domain::key_status::active});
          std::unique_lock lock(mutex_);
          by_hash_[digest] = std::move(entry);
          hash_by_id_[e.key_id] = digest;
        } else if constexpr (std::is_same_v<T, domain::key_revoked>) {
          std::unique_lock lock(mutex_);
          auto id = hash_by_id_.find(e.key_id);
          if (id == hash_by_id_.end()) return;
          auto it = by_hash_.find(id->second);
          if (it == by_hash_.end()) return;
          auto revoked = std::make_shared<key_entry>(*it->second);
          revoked->status = domain::key_status::revoked;
          it->second = std::move(revoked);
        }
      },
      event);
}

std::shared_ptr<const key_entry> active_key_view::find(const infra::sha256_digest& key_hash) const {
  std::shared_lock lock(mutex_);
  auto it = by_hash_.find(key_hash);
  return it == by_hash_.end() ? nullptr : it->second;
}

std::optional<workspace_entry> active_key_view::find_workspace(
    std::string_view workspace_id) const {
  std::shared_lock lock(mutex_);
  auto it = workspaces_.find(std::string(workspace_id));
  if (it == workspaces_.end()) return std::nullopt;
  return it->second;
}

bool active_key_view::wait_applied(std::uint64_t seq,
                                   std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(wait_mutex_);
  return applied_cv_.wait_until(lock, deadline, [&] { return applied_seq() >= seq; });
}

std::size_t active_key_view::key_count() const {
  std::shared_lock lock(mutex_);
  return by_hash_.size();
}

}  // namespace keyledger::services

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/people/policy.hpp"
#include "domain/people/user.hpp"
#include "domain/workspace/workspace.hpp"
#include "infra/core/event_log/consumer.hpp"
#include "infra/core/event_store.hpp"
#include "services/projections/apply_waiters.hpp"
#include "services/projections/key_entry.hpp"
#include "services/projections/slot_table.hpp"

namespace keyledger::services {

struct workspace_entry {
  std::string workspace_id;
  std::string name;
  std::string key_prefix;
  domain::key_policy policy;
  std::vector<std::string> scope_catalog;
  domain::leak_action on_leak = domain::leak_action::revoke;
};

/// Position in a key list ordered newest first: (created_at, key_id), both descending.
struct list_cursor {
  domain::timestamp created_at{};
  std::string key_id;
  auto operator<=>(const list_cursor&) const = default;
};
/// Opaque URL-safe text for a cursor, and back (nullopt for anything not made by encode).
std::string encode_cursor(const list_cursor& c);
std::optional<list_cursor> decode_cursor(std::string_view text);

struct key_query {
  std::string workspace_id;
  std::string name_contains;  ///< case-insensitive (ASCII) substring; "" = any
  std::optional<domain::environment> env;
  std::optional<domain::key_status> status;  ///< evaluated at `now`
  std::size_t limit = 50;                    ///< 1-100
  std::optional<list_cursor> after;          ///< start strictly after this position
  domain::timestamp now{};
};

struct key_page {
  std::vector<std::shared_ptr<const key_entry>> items;
  std::optional<list_cursor> next;  ///< set when more items may follow
};

/// The key view: every key of every workspace (revoked ones too), in memory, built from the
/// log at start-up and fed in global order by the subscription. Verification reads it by keyed
/// hash without touching Postgres; listing reads it by workspace. Thread-safe: one writer (the
/// subscription thread), many readers; readers take a shared lock only for the probe.
class active_key_view final : public infra::log_consumer {
 public:
  /// Every category: its applied position is the node's (commands wait on it, whatever they
  /// wrote).
  std::string_view name() const noexcept override { return "active_key_view"; }

  /// Applies one event. Precondition: events arrive in global_seq order, each once. Applies key
  /// events, WorkspaceCreated/WorkspaceSettingsChanged and the membership events
  /// (MemberInvited/RoleChanged/Removed: the view keeps each workspace's user -> role map and
  /// republishes the entries of the affected owner's keys; a catalog change republishes the
  /// workspace's owned keys). Streams are independent of each other: a key whose owner is not a
  /// member (not yet invited, or removed) is owner_removed until a MemberInvited arrives. Events
  /// of other types are ignored; an undecodable payload of a known type is logged and skipped
  /// (the log is the truth; a bad row must not stop every other key from working).
  void apply(const infra::recorded_event& e) override;

  /// The entry for a keyed hash, or null.
  std::shared_ptr<const key_entry> find(const infra::sha256_digest& key_hash) const;
  /// The entry for a key id, or null.
  std::shared_ptr<const key_entry> find_by_id(std::string_view key_id) const;

  std::optional<workspace_entry> find_workspace(std::string_view workspace_id) const;
  /// The one workspace using `key_prefix`, or nullopt if none or several do (used to attribute
  /// failed attempts with an unknown key).
  std::optional<std::string> workspace_for_prefix(std::string_view key_prefix) const;

  /// A page of one workspace's keys, newest first, filtered.
  key_page list(const key_query& q) const;

  /// Ids of every key of the workspace the view holds (revoked and expired ones too) created at
  /// or before `created_until`, newest first. For reads at an instant: which key streams to
  /// read.
  std::vector<std::string> key_ids_of(std::string_view workspace_id,
                                      domain::timestamp created_until) const;

  /// Every workspace the view holds, by id.
  std::vector<workspace_entry> workspaces() const;

  /// Ids of keys for which the expiry job has something to record at `now`: KeyExpired due
  /// (expires_at <= now, not recorded, not revoked) or a KeyExpiryApproaching due
  /// (domain::due_expiry_warning: 14 days and again 1 day before). At most `max`, soonest first.
  std::vector<std::string> expiry_due(domain::timestamp now, std::size_t max) const;

  /// The global_seq of the last event applied.
  std::uint64_t applied_seq() const noexcept { return applied_.load(std::memory_order_acquire); }

  /// Blocks until applied_seq() >= seq or the deadline passes; true if reached. For command
  /// handlers on pool threads (never an I/O thread): a command answers only once its own node
  /// applies its event.
  bool wait_applied(std::uint64_t seq, std::chrono::steady_clock::time_point deadline) const;

  /// The same without a thread: `done(true)` once applied_seq() >= seq (at once if it is,
  /// else on the applier's thread), `done(false)` at the deadline (apply_waiters). `done` must
  /// be quick (it hands an answer to its connection).
  void when_applied(std::uint64_t seq, std::chrono::steady_clock::time_point deadline,
                    apply_waiters::callback done) const;

  std::size_t key_count() const;
  /// How many distinct key_profiles the view's keys share (interning; for tests and figures).
  std::size_t profile_count() const;

 private:
  // Lets the id-keyed maps be probed with a string_view (no temporary std::string).
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  template <class V>
  using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

  /// False if the event cannot be applied (unknown key, duplicate creation, bad hash or CIDR).
  bool apply_key_event(const domain::api_key_event& e);
  /// apply_key_event for a KeyCreated: the entry straight from the event, without folding an
  /// api_key_state (key_entry's creation constructor), and the key's profile from the cache of
  /// current profiles.
  bool apply_key_created(const domain::key_created& e);
  /// False if the event names another workspace than its stream.
  bool apply_member_event(const infra::recorded_event& r, const domain::member_event& e);
  /// False for settings of an unknown workspace, or a workspace other than the stream's.
  bool apply_workspace_event(const infra::recorded_event& r, const domain::workspace_event& e);

  /// Fills profile.effective_scopes, owner_role and owner_removed from its workspace, owner and
  /// scopes, the owner's current role and the workspace's catalog. Writer only.
  void resolve_owner(key_profile& profile) const;
  /// Publishes new entries for those of `entries` whose owner fields change under the current
  /// roles and catalog (entries stay immutable: each change is a new entry). Writer only.
  void republish(const std::vector<std::shared_ptr<const key_entry>>& entries);
  /// Every key of the workspace, or only those owned by `owner_user_id` if not empty. Writer
  /// only.
  std::vector<std::shared_ptr<const key_entry>> keys_of(std::string_view workspace_id,
                                                        std::string_view owner_user_id) const;

  /// The shared parts of `state` under the current roles and catalog, interned. Writer only.
  std::shared_ptr<const key_profile> profile_for(key_profile wanted);

  /// A profile as keys state it (workspace, owner, declared scopes, CIDRs, limit) resolved
  /// under the current roles and catalogs, with what a creation under it updates.
  struct current_profile {
    std::shared_ptr<const key_profile> profile;
    std::vector<std::uint32_t>* ordered = nullptr;  // by_workspace_'s entry, once a key used it
    std::size_t* owner_keys = nullptr;              // people_'s key_count_by_owner entry, likewise
  };
  /// The current profile for those declared parts: from current_profiles_, else resolved
  /// (resolve_owner), interned (profile_for) and remembered there. Null for an unreadable CIDR.
  /// Writer only; the pointer stays valid until forget_current_profiles().
  current_profile* current_profile_for(const std::string& workspace_id,
                                       const std::string& owner_user_id,
                                       const std::vector<std::string>& scopes,
                                       const std::vector<std::string>& allowed_cidrs,
                                       const std::optional<domain::rate_limit>& limit);
  /// Empties current_profiles_: a role or a catalog changed, so a resolution may differ.
  void forget_current_profiles() noexcept { current_profiles_.clear(); }
  /// The position of a key, or nullopt. A lock held by the caller, or the writer.
  std::optional<std::uint32_t> position_of_id(std::string_view key_id) const;

  mutable std::shared_mutex mutex_;
  /// The KeyCreated being applied, kept between events for its storage (apply() only).
  domain::key_created created_scratch_;
  // Every key, by position (never removed: revoked keys stay). The tables below hold positions.
  std::vector<std::shared_ptr<const key_entry>> entries_;
  slot_table by_hash_;  // digest -> position
  slot_table by_id_;    // key id -> position
  string_map<workspace_entry> workspaces_;
  // key prefix -> the workspace using it, or "" when several do.
  string_map<std::string> workspace_by_prefix_;
  // Per workspace, the positions of its keys ordered OLDEST first by (created_at, key_id) (a new
  // key is nearly always appended); lists read it backwards, newest first, for cursor pagination.
  string_map<std::vector<std::uint32_t>> by_workspace_;
  // Interned key_profiles by their content (writer only, never shrinks: there are as many as
  // distinct combinations of workspace, owner, scopes, CIDRs, limit and standing ever seen).
  string_map<std::shared_ptr<const key_profile>> profiles_;
  // The profiles of the declared parts seen since the last change of roles or catalogs, by a
  // hash of those parts (writer only): a key event whose parts are here is not resolved again
  // nor interned by its whole content (a start-up's million KeyCreated share a few hundred).
  // Node-based, so that entries stay put while others are added.
  std::unordered_multimap<std::size_t, current_profile> current_profiles_;

  // What owned keys depend on, per workspace: each member's role and how many keys each owner
  // has (a membership event of a user who owns none needs no walk through the workspace's keys;
  // keys_of finds the keys themselves). Only the writer (apply) reads or changes it -
  // verification never looks here, it reads the precomputed key_entry - so it needs no lock.
  struct workspace_people {
    string_map<domain::role> roles;              // members only
    string_map<std::size_t> key_count_by_owner;  // owner user id -> keys created for them
  };
  string_map<workspace_people> people_;

  std::atomic<std::uint64_t> applied_{0};
  mutable std::mutex wait_mutex_;
  mutable std::condition_variable applied_cv_;
  mutable apply_waiters waiters_;
};

}  // namespace keyledger::services

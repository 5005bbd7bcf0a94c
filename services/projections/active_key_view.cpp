#include "services/projections/active_key_view.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "domain/cursor.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "infra/json/user_codec.hpp"

namespace keyledger::services {

namespace {

constexpr std::array<std::string_view, 9> key_event_types = {
    "KeyCreated", "KeyUpdated", "KeyDisabled",          "KeyEnabled", "KeyRotated",
    "KeyRevoked", "KeyExpired", "KeyExpiryApproaching", "KeyLeaked"};

bool is_key_event_type(std::string_view type) noexcept {
  return std::find(key_event_types.begin(), key_event_types.end(), type) != key_event_types.end();
}

bool is_member_event_type(std::string_view type) noexcept {
  return type == "MemberInvited" || type == "MemberRoleChanged" || type == "MemberRemoved";
}

// An event whose payload names another workspace than its stream is not applied: a role or a
// catalog must never leak into another workspace. (Events fed without a stream id, as in some
// tests, are taken at their word.)
bool stream_matches(const infra::recorded_event& r, const std::string& expected_stream) {
  return r.stream_id.empty() || r.stream_id == expected_stream;
}

void log_skipped(const infra::recorded_event& e) {
  // Type and position only: a payload holds a key hash, which never goes to the log.
  infra::log(infra::log_level::error, "projection_skipped_event",
             {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
}

const std::string& key_id_of(const domain::api_key_event& e) noexcept {
  return std::visit([](const auto& alt) -> const std::string& { return alt.key_id; }, e);
}

char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool contains_ignoring_case(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.empty()) return true;
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return ascii_lower(a) == ascii_lower(b); }) !=
         haystack.end();
}

// ---- cursor text: base64url (no padding) of "<created_at microseconds>.<key_id>" ----------

}  // namespace

std::string encode_cursor(const list_cursor& c) {
  return domain::encode_page_cursor("", {domain::to_micros(c.created_at), c.key_id});
}

std::optional<list_cursor> decode_cursor(std::string_view text) {
  auto p = domain::decode_page_cursor("", text);
  if (!p) return std::nullopt;
  return list_cursor{domain::timestamp(std::chrono::microseconds(p->at)), std::move(p->id)};
}

std::size_t active_key_view::string_hash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

void active_key_view::apply(const infra::recorded_event& e) {
  if (e.type == "KeyCreated") {
    // Decoded into one kept event (the single writer's): a start-up applies one per key of the
    // log, and its strings and vectors are then allocated once, not for every key.
    if (!infra::decode_key_created_into(e.payload, created_scratch_) ||
        !apply_key_created(created_scratch_)) {
      log_skipped(e);
    }
  } else if (is_key_event_type(e.type)) {
    const auto decoded = infra::decode_api_key_event(e.type, e.payload);
    if (!decoded || !apply_key_event(*decoded)) log_skipped(e);
  } else if (is_member_event_type(e.type)) {
    const auto decoded = infra::decode_member_event(e.type, e.payload);
    if (!decoded || !apply_member_event(e, *decoded)) log_skipped(e);
  } else if (e.type == "WorkspaceCreated" || e.type == "WorkspaceSettingsChanged") {
    const auto decoded = infra::decode_workspace_event(e.type, e.payload);
    if (!decoded || !apply_workspace_event(e, *decoded)) log_skipped(e);
  }
  {
    // Publish under the wait mutex so a waiter cannot miss the notification.
    std::lock_guard lock(wait_mutex_);
    applied_.store(e.global_seq, std::memory_order_release);
  }
  applied_cv_.notify_all();
  waiters_.applied(e.global_seq);
}

namespace {

std::size_t id_hash(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

std::size_t digest_bits(const infra::sha256_digest& d) noexcept {
  // An HMAC output is uniform and unpredictable without the server secret, so its first
  // bytes are already a good, flood-resistant hash.
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

// The list order, oldest first: (created_at, key_id) ascending, as list_cursor compares.
bool older(const key_entry& a, domain::timestamp created_at, std::string_view key_id) noexcept {
  if (a.created_at() != created_at) return a.created_at() < created_at;
  return a.key_id() < key_id;
}

}  // namespace

std::optional<std::uint32_t> active_key_view::position_of_id(std::string_view key_id) const {
  return by_id_.find(id_hash(key_id),
                     [&](std::uint32_t p) { return entries_[p]->key_id() == key_id; });
}

bool active_key_view::apply_key_event(const domain::api_key_event& event) {
  if (const auto* created = std::get_if<domain::key_created>(&event)) {
    return apply_key_created(*created);
  }
  const std::string& key_id = key_id_of(event);
  // Only this (single) writer changes the entries and tables, so the entry read here stays
  // current while the new one is built outside the exclusive lock.
  const auto position = position_of_id(key_id);
  if (!position) return false;  // no KeyCreated
  const std::shared_ptr<const key_entry> current = entries_[*position];

  const domain::api_key_state state = domain::evolve(current->state(), event);
  if (!state.exists || state.key_id != key_id) return false;
  infra::sha256_digest digest{};
  if (state.key_hash.size() != 64 || !infra::from_hex(state.key_hash, digest)) return false;
  if (current->digest() != digest) return false;

  // Scopes, CIDRs or the limit may have changed (KeyUpdated).
  const current_profile* shared = current_profile_for(
      state.workspace_id, state.owner_user_id, state.scopes, state.allowed_cidrs, state.limit);
  if (shared == nullptr) return false;  // an unreadable CIDR
  auto published = std::make_shared<const key_entry>(state, shared->profile, digest);
  std::unique_lock lock(mutex_);
  // The digest, the workspace and created_at never change, so neither do the indexes.
  entries_[*position] = std::move(published);
  return true;
}

bool active_key_view::apply_key_created(const domain::key_created& created) {
  // The checks of a folded creation: a key hash of 64 hex digits (the id is the event's own).
  infra::sha256_digest digest{};
  if (created.key_hash.size() != 64 || !infra::from_hex(created.key_hash, digest)) return false;
  current_profile* shared =
      current_profile_for(created.workspace_id, created.owner_user_id, created.scopes,
                          created.allowed_cidrs, created.limit);
  if (shared == nullptr) return false;  // an unreadable CIDR
  auto published = std::make_shared<const key_entry>(created, shared->profile, digest);
  const std::string& key_id = created.key_id;
  {
    // A creation is not looked up first: its insertion finds a second KeyCreated (one probe
    // instead of two).
    std::unique_lock lock(mutex_);
    const auto at = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(published);
    const auto id_of = [&](std::uint32_t p) { return id_hash(entries_[p]->key_id()); };
    if (!by_id_.insert(
            id_hash(key_id), at, [&](std::uint32_t p) { return entries_[p]->key_id() == key_id; },
            id_of)) {
      entries_.pop_back();  // a second KeyCreated
      return false;
    }
    const auto same_digest = [&](std::uint32_t p) { return entries_[p]->digest() == digest; };
    const auto digest_of = [&](std::uint32_t p) { return digest_bits(entries_[p]->digest()); };
    // A second key with the same hash takes the hash over (as the map's assignment did).
    by_hash_.assign(digest_bits(digest), at, same_digest, digest_of);

    if (shared->ordered == nullptr) shared->ordered = &by_workspace_[created.workspace_id];
    auto& ordered = *shared->ordered;
    // Keys arrive in log order, so a new key is nearly always the workspace's newest and is
    // appended; a key created with an older clock reading still lands in its place.
    if (ordered.empty() || older(*entries_[ordered.back()], created.created_at, key_id)) {
      ordered.push_back(at);
    } else {
      const auto place =
          std::lower_bound(ordered.begin(), ordered.end(), at, [&](std::uint32_t p, std::uint32_t) {
            return older(*entries_[p], created.created_at, key_id);
          });
      ordered.insert(place, at);
    }
  }
  // The owner never changes after creation, so each key is counted once.
  if (!created.owner_user_id.empty()) {
    if (shared->owner_keys == nullptr) {
      shared->owner_keys = &people_[created.workspace_id].key_count_by_owner[created.owner_user_id];
    }
    ++*shared->owner_keys;
  }
  return true;
}

bool active_key_view::apply_member_event(const infra::recorded_event& r,
                                         const domain::member_event& event) {
  const std::string& workspace_id =
      std::visit([](const auto& alt) -> const std::string& { return alt.workspace_id; }, event);
  const std::string& user_id =
      std::visit([](const auto& alt) -> const std::string& { return alt.user_id; }, event);
  if (!stream_matches(r, domain::members_stream_id(workspace_id))) return false;

  // A role decides owned keys' reach: what was resolved before may no longer hold.
  forget_current_profiles();
  auto& people = people_[workspace_id];
  // The same folding as domain::evolve(membership_state): a role change states the new role,
  // a removal ends the membership.
  if (const auto* invited = std::get_if<domain::member_invited>(&event)) {
    people.roles[user_id] = invited->member_role;
  } else if (const auto* changed = std::get_if<domain::member_role_changed>(&event)) {
    people.roles[user_id] = changed->to;
  } else if (auto it = people.roles.find(user_id); it != people.roles.end()) {
    people.roles.erase(it);
  }
  republish(keys_of(workspace_id, user_id));
  return true;
}

bool active_key_view::apply_workspace_event(const infra::recorded_event& r,
                                            const domain::workspace_event& event) {
  // The catalog decides owned keys' reach (a new workspace's catalog too): resolve anew.
  forget_current_profiles();
  if (const auto* w = std::get_if<domain::workspace_created>(&event)) {
    if (!stream_matches(r, domain::workspace_stream_id(w->workspace_id))) return false;
    {
      std::unique_lock lock(mutex_);
      workspaces_[w->workspace_id] =
          workspace_entry{w->workspace_id, w->name,          w->key_prefix,
                          w->policy,       w->scope_catalog, domain::leak_action::revoke};
      auto [it, inserted] = workspace_by_prefix_.try_emplace(w->key_prefix, w->workspace_id);
      // A prefix shared by two workspaces names neither: failures are then unattributed.
      if (!inserted && it->second != w->workspace_id) it->second.clear();
    }
    // Keys seen before their workspace (another stream) were resolved against no catalog.
    republish(keys_of(w->workspace_id, {}));
    return true;
  }

  const auto& changed = std::get<domain::workspace_settings_changed>(event);
  if (!stream_matches(r, domain::workspace_stream_id(changed.workspace_id))) return false;
  {
    std::unique_lock lock(mutex_);
    auto it = workspaces_.find(changed.workspace_id);
    if (it == workspaces_.end()) return false;
    if (changed.policy) it->second.policy = *changed.policy;
    if (changed.scope_catalog) it->second.scope_catalog = *changed.scope_catalog;
    if (changed.on_leak) it->second.on_leak = *changed.on_leak;
  }
  if (changed.scope_catalog) republish(keys_of(changed.workspace_id, {}));
  return true;
}

std::shared_ptr<const key_entry> active_key_view::find(const infra::sha256_digest& key_hash) const {
  std::shared_lock lock(mutex_);
  const auto p = by_hash_.find(
      digest_bits(key_hash), [&](std::uint32_t at) { return entries_[at]->digest() == key_hash; });
  return p ? entries_[*p] : nullptr;
}

std::shared_ptr<const key_entry> active_key_view::find_by_id(std::string_view key_id) const {
  std::shared_lock lock(mutex_);
  const auto p = position_of_id(key_id);
  return p ? entries_[*p] : nullptr;
}

std::optional<workspace_entry> active_key_view::find_workspace(
    std::string_view workspace_id) const {
  std::shared_lock lock(mutex_);
  auto it = workspaces_.find(workspace_id);
  if (it == workspaces_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> active_key_view::workspace_for_prefix(
    std::string_view key_prefix) const {
  std::shared_lock lock(mutex_);
  auto it = workspace_by_prefix_.find(key_prefix);
  if (it == workspace_by_prefix_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

key_page active_key_view::list(const key_query& q) const {
  const std::size_t limit = std::clamp<std::size_t>(q.limit, 1, 100);
  key_page page;
  std::shared_lock lock(mutex_);
  auto ws = by_workspace_.find(q.workspace_id);
  if (ws == by_workspace_.end()) return page;
  const auto& keys = ws->second;  // oldest first: read backwards
  // Newest first, the positions strictly after the cursor are those strictly older than it.
  std::size_t end = keys.size();
  if (q.after) {
    end = std::size_t(std::lower_bound(keys.begin(), keys.end(), *q.after,
                                       [&](std::uint32_t p, const list_cursor& c) {
                                         return older(*entries_[p], c.created_at, c.key_id);
                                       }) -
                      keys.begin());
  }
  for (std::size_t i = end; i-- > 0;) {
    const auto& entry = entries_[keys[i]];
    const key_entry& k = *entry;
    if (q.env && k.env() != *q.env) continue;
    if (q.status && k.status_at(q.now) != *q.status) continue;
    if (!contains_ignoring_case(k.name(), q.name_contains)) continue;
    if (page.items.size() == limit) {
      // One more match exists: the page is full and a next one follows.
      const key_entry& last = *page.items.back();
      page.next = list_cursor{last.created_at(), std::string(last.key_id())};
      break;
    }
    page.items.push_back(entry);
  }
  return page;
}

std::vector<std::string> active_key_view::key_ids_of(std::string_view workspace_id,
                                                     domain::timestamp created_until) const {
  std::vector<std::string> ids;
  std::shared_lock lock(mutex_);
  const auto ws = by_workspace_.find(workspace_id);
  if (ws == by_workspace_.end()) return ids;
  // Newest first: skip what was created later, then take the rest.
  for (auto it = ws->second.rbegin(); it != ws->second.rend(); ++it) {
    const key_entry& k = *entries_[*it];
    if (k.created_at() <= created_until) ids.emplace_back(k.key_id());
  }
  return ids;
}

std::vector<workspace_entry> active_key_view::workspaces() const {
  std::vector<workspace_entry> out;
  {
    std::shared_lock lock(mutex_);
    out.reserve(workspaces_.size());
    for (const auto& [id, w] : workspaces_) out.push_back(w);
  }
  std::sort(out.begin(), out.end(), [](const workspace_entry& a, const workspace_entry& b) {
    return a.workspace_id < b.workspace_id;
  });
  return out;
}

std::vector<std::string> active_key_view::expiry_due(domain::timestamp now, std::size_t max) const {
  std::vector<std::pair<domain::timestamp, std::string>> due;
  {
    std::shared_lock lock(mutex_);
    for (const auto& entry : entries_) {
      const key_entry& k = *entry;
      if (k.revoked_at()) continue;
      const auto expires_at = k.expires_at();
      if (!expires_at) continue;
      const domain::timestamp expires = *expires_at;
      // Neither expired nor within the first warning's lead: nothing to decide (and no state
      // to rebuild, for nearly every key).
      if (expires > now && now < expires - domain::expiry_warning_lead) continue;
      if (expires <= now && k.expiry_recorded()) continue;
      const domain::api_key_state s = k.state();
      const bool expire_due = expires <= now && !s.expiry_recorded;
      const bool warn_due = domain::due_expiry_warning(s, now).has_value();
      if (!expire_due && !warn_due) continue;
      const std::string id(k.key_id());
      // The domain decides what the job appends; a key it would turn down must not come back
      // on every pass and crowd out keys that are due.
      const bool decided = domain::decide(s, domain::expire_key{id, now}).ok() ||
                           domain::decide(s, domain::warn_key_expiry{id, now}).ok();
      if (decided) due.emplace_back(expires, id);
    }
  }
  if (due.size() > max) {
    std::partial_sort(due.begin(), due.begin() + std::ptrdiff_t(max), due.end());
    due.resize(max);
  } else {
    std::sort(due.begin(), due.end());
  }
  std::vector<std::string> ids;
  ids.reserve(due.size());
  for (auto& [at, id] : due) ids.push_back(std::move(id));
  return ids;
}

void active_key_view::when_applied(std::uint64_t seq,
                                   std::chrono::steady_clock::time_point deadline,
                                   apply_waiters::callback done) const {
  waiters_.add(
      seq, deadline, [this] { return applied_seq(); }, std::move(done));
}

bool active_key_view::wait_applied(std::uint64_t seq,
                                   std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(wait_mutex_);
  return applied_cv_.wait_until(lock, deadline, [&] { return applied_seq() >= seq; });
}

std::size_t active_key_view::key_count() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

std::size_t active_key_view::profile_count() const {
  std::shared_lock lock(mutex_);
  return profiles_.size();
}

}  // namespace keyledger::services

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

bool key_entry::has_scope(std::string_view scope) const noexcept {
  return std::find(effective_scopes.begin(), effective_scopes.end(), scope) !=
         effective_scopes.end();
}

domain::key_status key_entry::status_at(domain::timestamp now) const noexcept {
  const auto s = state.status_at(now);
  return s == domain::key_status::active && owner_removed ? domain::key_status::disabled : s;
}

std::size_t active_key_view::digest_hash::operator()(const infra::sha256_digest& d) const noexcept {
  // An HMAC output is uniform and unpredictable without the server secret, so its first
  // bytes are already a good, flood-resistant hash.
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

std::size_t active_key_view::string_hash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

void active_key_view::apply(const infra::recorded_event& e) {
  if (is_key_event_type(e.type)) {
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

bool active_key_view::apply_key_event(const domain::api_key_event& event) {
  const std::string& key_id = key_id_of(event);
  const bool creation = std::holds_alternative<domain::key_created>(event);

  // Only this (single) writer changes the maps, so the entry read here stays current while
  // the new one is built outside the exclusive lock. A creation is not looked up first: its
  // insertion below finds a second KeyCreated (one probe of a million-key map instead of two).
  std::shared_ptr<const key_entry> current = creation ? nullptr : find_by_id(key_id);
  if (!creation && current == nullptr) return false;  // no KeyCreated

  auto next = std::make_shared<key_entry>();
  next->state = domain::evolve(current ? current->state : domain::api_key_state{}, event);
  if (!next->state.exists || next->state.key_id != key_id) return false;
  // Scopes may have changed (KeyUpdated), and a new key needs its owner's reach.
  resolve_owner(*next);
  next->allowed_cidrs.reserve(next->state.allowed_cidrs.size());
  for (const auto& text : next->state.allowed_cidrs) {
    // Dropping an unreadable CIDR would widen the key's reach (an empty list allows every
    // address), so the whole event is refused instead.
    auto parsed = domain::parse_cidr(text);
    if (!parsed) return false;
    next->allowed_cidrs.push_back(*parsed);
  }
  infra::sha256_digest digest{};
  if (!infra::from_hex(next->state.key_hash, digest) || next->state.key_hash.size() != 64) {
    return false;
  }
  if (current && current->state.key_hash != next->state.key_hash) return false;

  std::shared_ptr<const key_entry> published = std::move(next);
  const list_cursor position{published->state.created_at, key_id};
  {
    std::unique_lock lock(mutex_);
    if (creation) {
      if (!by_id_.try_emplace(key_id, published).second) return false;  // a second KeyCreated
    } else {
      by_id_[key_id] = published;
    }
    by_hash_[digest] = published;
    auto& ordered = by_workspace_[published->state.workspace_id];
    if (creation) {
      // Keys arrive in log order, so a new key is nearly always the workspace's newest: with
      // begin() as the hint the insertion is constant time instead of a walk down a tree of
      // 100k nodes (the biggest single cost of a rebuild, docs/performance.md). A key created
      // with an older clock reading still lands in its place.
      ordered.emplace_hint(ordered.begin(), position, published);
    } else {
      ordered[position] = published;
    }
  }
  // The owner never changes after creation, so each key is counted once.
  if (creation && !published->state.owner_user_id.empty()) {
    ++people_[published->state.workspace_id].key_count_by_owner[published->state.owner_user_id];
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

void active_key_view::resolve_owner(key_entry& entry) const {
  const auto& s = entry.state;
  if (s.owner_user_id.empty()) {
    // Keys from before owners existed keep exactly the reach they were created with.
    entry.effective_scopes = s.scopes;
    entry.owner_role.reset();
    entry.owner_removed = false;
    return;
  }
  std::optional<domain::role> role;
  if (auto p = people_.find(s.workspace_id); p != people_.end()) {
    if (auto m = p->second.roles.find(s.owner_user_id); m != p->second.roles.end()) {
      role = m->second;
    }
  }
  // The writer is the only one changing workspaces_, so it may read it without the lock.
  static const std::vector<std::string> no_catalog;
  const auto w = workspaces_.find(s.workspace_id);
  const auto& catalog = w == workspaces_.end() ? no_catalog : w->second.scope_catalog;
  entry.effective_scopes = domain::effective_scopes(s.scopes, role, catalog);
  entry.owner_role = role;
  entry.owner_removed = !role.has_value();
}

std::vector<std::shared_ptr<const key_entry>> active_key_view::keys_of(
    std::string_view workspace_id, std::string_view owner_user_id) const {
  std::vector<std::shared_ptr<const key_entry>> out;
  // Writer only: the maps read here change only on this thread. An owner's keys are found by a
  // walk through the workspace's keys rather than kept in an index of their own, which cost
  // every key a copy of its id (about 100 bytes a key, docs/performance.md "A million keys").
  // Only owners who have keys are walked for: a new member's invitation costs nothing, and a
  // role change or removal of an owner walks the workspace once (a few ms for 100k keys).
  std::size_t owned = 0;  // the owner's keys, when one is given: the walk stops at the last
  if (!owner_user_id.empty()) {
    const auto p = people_.find(workspace_id);
    if (p == people_.end()) return out;
    const auto n = p->second.key_count_by_owner.find(owner_user_id);
    if (n == p->second.key_count_by_owner.end()) return out;
    owned = n->second;
    out.reserve(owned);
  }
  const auto ws = by_workspace_.find(workspace_id);
  if (ws == by_workspace_.end()) return out;
  if (owner_user_id.empty()) out.reserve(ws->second.size());
  for (const auto& [position, entry] : ws->second) {
    const auto& owner = entry->state.owner_user_id;
    // An ownerless key's reach depends on neither roles nor the catalog.
    if (owner.empty()) continue;
    if (owner_user_id.empty()) {
      out.push_back(entry);
    } else if (owner == owner_user_id) {
      out.push_back(entry);
      if (out.size() == owned) break;
    }
  }
  return out;
}

void active_key_view::republish(const std::vector<std::shared_ptr<const key_entry>>& entries) {
  struct replacement {
    infra::sha256_digest digest;
    std::shared_ptr<const key_entry> entry;
  };
  std::vector<replacement> changed;
  // Build outside the exclusive lock; readers keep whatever snapshot they hold.
  for (const auto& current : entries) {
    auto next = std::make_shared<key_entry>(*current);
    resolve_owner(*next);
    if (next->effective_scopes == current->effective_scopes &&
        next->owner_role == current->owner_role && next->owner_removed == current->owner_removed) {
      continue;
    }
    infra::sha256_digest digest{};
    // Published entries always have a valid hash (apply_key_event checked it).
    if (!infra::from_hex(next->state.key_hash, digest)) continue;
    changed.push_back({digest, std::move(next)});
  }
  if (changed.empty()) return;
  std::unique_lock lock(mutex_);
  for (auto& [digest, entry] : changed) {
    const list_cursor position{entry->state.created_at, entry->key_id()};
    by_hash_[digest] = entry;
    by_id_[entry->key_id()] = entry;
    by_workspace_[entry->state.workspace_id][position] = entry;
  }
}

std::shared_ptr<const key_entry> active_key_view::find(const infra::sha256_digest& key_hash) const {
  std::shared_lock lock(mutex_);
  auto it = by_hash_.find(key_hash);
  return it == by_hash_.end() ? nullptr : it->second;
}

std::shared_ptr<const key_entry> active_key_view::find_by_id(std::string_view key_id) const {
  std::shared_lock lock(mutex_);
  auto it = by_id_.find(key_id);
  return it == by_id_.end() ? nullptr : it->second;
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
  const auto& keys = ws->second;
  // The map is ordered newest first, so upper_bound is the first position strictly after.
  auto it = q.after ? keys.upper_bound(*q.after) : keys.begin();
  for (; it != keys.end(); ++it) {
    const key_entry& k = *it->second;
    if (q.env && k.state.env != *q.env) continue;
    if (q.status && k.status_at(q.now) != *q.status) continue;
    if (!contains_ignoring_case(k.state.name, q.name_contains)) continue;
    if (page.items.size() == limit) {
      // One more match exists: the page is full and a next one follows.
      page.next = list_cursor{page.items.back()->state.created_at, page.items.back()->key_id()};
      break;
    }
    page.items.push_back(it->second);
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
  for (const auto& [position, entry] : ws->second) {
    if (position.created_at <= created_until) ids.push_back(position.key_id);
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
    for (const auto& [id, entry] : by_id_) {
      const auto& s = entry->state;
      if (s.revoked_at || !s.expires_at) continue;
      const domain::timestamp expires = *s.expires_at;
      const bool expire_due = expires <= now && !s.expiry_recorded;
      const bool warn_due = domain::due_expiry_warning(s, now).has_value();
      if (!expire_due && !warn_due) continue;
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
  waiters_.add(seq, deadline, [this] { return applied_seq(); }, std::move(done));
}

bool active_key_view::wait_applied(std::uint64_t seq,
                                   std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(wait_mutex_);
  return applied_cv_.wait_until(lock, deadline, [&] { return applied_seq() >= seq; });
}

std::size_t active_key_view::key_count() const {
  std::shared_lock lock(mutex_);
  return by_id_.size();
}

}  // namespace keyledger::services

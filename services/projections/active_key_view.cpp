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

namespace {

// The interning key of a profile: every member, each string length-prefixed so that no two
// different profiles share a key. The parsed CIDRs follow from their text.
void put(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(s);
}

void put_list(std::string& out, const std::vector<std::string>& list) {
  const auto n = static_cast<std::uint32_t>(list.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  for (const auto& s : list) put(out, s);
}

std::string profile_key(const key_profile& p) {
  std::string key;
  key.reserve(192);
  put(key, p.workspace_id);
  put(key, p.owner_user_id);
  put_list(key, p.scopes);
  put_list(key, p.effective_scopes);
  put_list(key, p.allowed_cidr_texts);
  std::array<char, 11> tail{};
  if (p.limit) {
    tail[0] = 1;
    std::memcpy(&tail[1], &p.limit->limit, 4);
    std::memcpy(&tail[5], &p.limit->window_seconds, 4);
  }
  tail[9] = p.owner_role ? char(1 + static_cast<int>(*p.owner_role)) : char(0);
  tail[10] = p.owner_removed ? 1 : 0;
  key.append(tail.data(), tail.size());
  return key;
}

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

std::shared_ptr<const key_profile> active_key_view::profile_for(key_profile wanted) {
  std::string key = profile_key(wanted);
  // Only this (single) writer changes profiles_, so it may look without the lock.
  if (auto it = profiles_.find(key); it != profiles_.end()) return it->second;
  wanted.allowed_cidrs.reserve(wanted.allowed_cidr_texts.size());
  for (const auto& text : wanted.allowed_cidr_texts) {
    // Dropping an unreadable CIDR would widen the key's reach (an empty list allows every
    // address), so the whole event is refused instead.
    auto parsed = domain::parse_cidr(text);
    if (!parsed) return nullptr;
    wanted.allowed_cidrs.push_back(*parsed);
  }
  auto profile = std::make_shared<const key_profile>(std::move(wanted));
  std::unique_lock lock(mutex_);
  profiles_.emplace(std::move(key), profile);
  return profile;
}

std::optional<std::uint32_t> active_key_view::position_of_id(std::string_view key_id) const {
  return by_id_.find(id_hash(key_id),
                     [&](std::uint32_t p) { return entries_[p]->key_id() == key_id; });
}

bool active_key_view::apply_key_event(const domain::api_key_event& event) {
  const std::string& key_id = key_id_of(event);
  const bool creation = std::holds_alternative<domain::key_created>(event);

  // Only this (single) writer changes the entries and tables, so the entry read here stays
  // current while the new one is built outside the exclusive lock. A creation is not looked up
  // first: its insertion below finds a second KeyCreated (one probe instead of two).
  std::optional<std::uint32_t> position;
  std::shared_ptr<const key_entry> current;
  if (!creation) {
    position = position_of_id(key_id);
    if (!position) return false;  // no KeyCreated
    current = entries_[*position];
  }

  const domain::api_key_state state =
      domain::evolve(current ? current->state() : domain::api_key_state{}, event);
  if (!state.exists || state.key_id != key_id) return false;
  infra::sha256_digest digest{};
  if (state.key_hash.size() != 64 || !infra::from_hex(state.key_hash, digest)) return false;
  if (current && current->digest() != digest) return false;

  // Scopes may have changed (KeyUpdated), and a new key needs its owner's reach.
  key_profile wanted;
  wanted.workspace_id = state.workspace_id;
  wanted.owner_user_id = state.owner_user_id;
  wanted.scopes = state.scopes;
  wanted.allowed_cidr_texts = state.allowed_cidrs;
  wanted.limit = state.limit;
  resolve_owner(wanted);
  auto profile = profile_for(std::move(wanted));
  if (!profile) return false;  // an unreadable CIDR
  auto published = std::make_shared<const key_entry>(state, std::move(profile), digest);

  if (!creation) {
    std::unique_lock lock(mutex_);
    // The digest, the workspace and created_at never change, so neither do the indexes.
    entries_[*position] = std::move(published);
    return true;
  }
  {
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
    by_hash_.erase(digest_bits(digest), same_digest);
    by_hash_.insert(digest_bits(digest), at, same_digest, digest_of);

    auto& ordered = by_workspace_[published->workspace_id()];
    // Keys arrive in log order, so a new key is nearly always the workspace's newest and is
    // appended; a key created with an older clock reading still lands in its place.
    if (ordered.empty() || older(*entries_[ordered.back()], state.created_at, key_id)) {
      ordered.push_back(at);
    } else {
      const auto place =
          std::lower_bound(ordered.begin(), ordered.end(), at, [&](std::uint32_t p, std::uint32_t) {
            return older(*entries_[p], state.created_at, key_id);
          });
      ordered.insert(place, at);
    }
  }
  // The owner never changes after creation, so each key is counted once.
  if (!published->owner_user_id().empty()) {
    ++people_[published->workspace_id()].key_count_by_owner[published->owner_user_id()];
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

void active_key_view::resolve_owner(key_profile& p) const {
  if (p.owner_user_id.empty()) {
    // Keys from before owners existed keep exactly the reach they were created with.
    p.effective_scopes = p.scopes;
    p.owner_role.reset();
    p.owner_removed = false;
    return;
  }
  std::optional<domain::role> role;
  if (auto people = people_.find(p.workspace_id); people != people_.end()) {
    if (auto m = people->second.roles.find(p.owner_user_id); m != people->second.roles.end()) {
      role = m->second;
    }
  }
  // The writer is the only one changing workspaces_, so it may read it without the lock.
  static const std::vector<std::string> no_catalog;
  const auto w = workspaces_.find(p.workspace_id);
  const auto& catalog = w == workspaces_.end() ? no_catalog : w->second.scope_catalog;
  p.effective_scopes = domain::effective_scopes(p.scopes, role, catalog);
  p.owner_role = role;
  p.owner_removed = !role.has_value();
}

std::vector<std::shared_ptr<const key_entry>> active_key_view::keys_of(
    std::string_view workspace_id, std::string_view owner_user_id) const {
  std::vector<std::shared_ptr<const key_entry>> out;
  // Writer only: what is read here changes only on this thread. An owner's keys are found by a
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
  for (auto it = ws->second.rbegin(); it != ws->second.rend(); ++it) {
    const auto& entry = entries_[*it];
    const auto& owner = entry->owner_user_id();
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
  // Keys share profiles, so each profile is resolved once: old profile -> new one (null when
  // the standing did not change).
  std::unordered_map<const key_profile*, std::shared_ptr<const key_profile>> resolved;
  std::vector<std::pair<std::uint32_t, std::shared_ptr<const key_entry>>> changed;
  // Build outside the exclusive lock; readers keep whatever snapshot they hold.
  for (const auto& current : entries) {
    auto [it, fresh] = resolved.try_emplace(&current->profile());
    if (fresh) {
      key_profile wanted = current->profile();
      resolve_owner(wanted);
      if (wanted.effective_scopes != current->effective_scopes() ||
          wanted.owner_role != current->owner_role() ||
          wanted.owner_removed != current->owner_removed()) {
        it->second = profile_for(std::move(wanted));
      }
    }
    if (!it->second) continue;
    const auto position = position_of_id(current->key_id());
    if (!position) continue;
    changed.emplace_back(*position,
                         std::make_shared<const key_entry>(current->with_profile(it->second)));
  }
  if (changed.empty()) return;
  std::unique_lock lock(mutex_);
  for (auto& [position, entry] : changed) entries_[position] = std::move(entry);
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

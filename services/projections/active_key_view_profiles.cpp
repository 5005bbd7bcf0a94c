// The key view's profiles: what keys share (key_profile), interned, resolved against the
// owners' roles and the workspaces' catalogs, remembered while those stay the same, and
// republished when they change. (The rest of active_key_view is in active_key_view.cpp.)
#include <array>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>

#include "services/projections/active_key_view.hpp"

namespace keyledger::services {

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

// A hash of a key's declared parts (current_profiles_' key); the candidates it finds are
// compared member by member.
std::size_t declared_hash(std::string_view workspace_id, std::string_view owner_user_id,
                          const std::vector<std::string>& scopes,
                          const std::vector<std::string>& allowed_cidrs,
                          const std::optional<domain::rate_limit>& limit) noexcept {
  const std::hash<std::string_view> text_hash;
  std::size_t h = text_hash(workspace_id);
  const auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(text_hash(owner_user_id));
  mix(scopes.size());
  for (const auto& s : scopes) mix(text_hash(s));
  mix(allowed_cidrs.size());
  for (const auto& c : allowed_cidrs) mix(text_hash(c));
  mix(limit ? (std::size_t{limit->limit} << 32 | limit->window_seconds) : ~std::size_t{0});
  return h;
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

active_key_view::current_profile* active_key_view::current_profile_for(
    const std::string& workspace_id, const std::string& owner_user_id,
    const std::vector<std::string>& scopes, const std::vector<std::string>& allowed_cidrs,
    const std::optional<domain::rate_limit>& limit) {
  const std::size_t hash = declared_hash(workspace_id, owner_user_id, scopes, allowed_cidrs, limit);
  for (auto [it, end] = current_profiles_.equal_range(hash); it != end; ++it) {
    const key_profile& p = *it->second.profile;
    if (p.workspace_id == workspace_id && p.owner_user_id == owner_user_id && p.scopes == scopes &&
        p.allowed_cidr_texts == allowed_cidrs && p.limit == limit) {
      return &it->second;
    }
  }
  key_profile wanted;
  wanted.workspace_id = workspace_id;
  wanted.owner_user_id = owner_user_id;
  wanted.scopes = scopes;
  wanted.allowed_cidr_texts = allowed_cidrs;
  wanted.limit = limit;
  resolve_owner(wanted);
  auto profile = profile_for(std::move(wanted));
  if (!profile) return nullptr;  // an unreadable CIDR
  return &current_profiles_.emplace(hash, current_profile{std::move(profile)})->second;
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

}  // namespace keyledger::services

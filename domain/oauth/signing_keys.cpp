#include "domain/oauth/signing_keys.hpp"

#include <algorithm>

#include "domain/encoding.hpp"
#include "domain/overloaded.hpp"

namespace keyledger::domain::oauth {
namespace {

using decision = result<std::vector<signing_key_event>, signing_key_rejection>;

signing_key* find_mutable(signing_key_set& state, std::string_view kid) noexcept {
  const auto it = std::find_if(state.keys.begin(), state.keys.end(),
                               [&](const signing_key& k) { return k.kid == kid; });
  return it == state.keys.end() ? nullptr : &*it;
}

const signing_key* last_with(const signing_key_set& state, signing_key_status status) noexcept {
  const auto it = std::find_if(state.keys.rbegin(), state.keys.rend(),
                               [&](const signing_key& k) { return k.status == status; });
  return it == state.keys.rend() ? nullptr : &*it;
}

// The active key, if any, retired at `now` because another takes over.
void retire_active(const signing_key_set& state, timestamp now,
                   std::vector<signing_key_event>& out) {
  if (const auto* active = state.active()) {
    out.push_back(signing_key_retired{active->kid, now, now + retired_key_publication});
  }
}

decision decide_create(const signing_key_set& state, const create_signing_key& c) {
  if (!valid_signing_key_id(c.kid)) return signing_key_rejection::invalid_kid;
  if (state.find(c.kid) != nullptr) return signing_key_rejection::key_exists;
  if (c.public_jwk.empty()) return signing_key_rejection::invalid_public_key;
  std::vector<signing_key_event> out;
  switch (c.activation) {
    case key_activation::scheduled:
      if (state.pending() != nullptr) return signing_key_rejection::pending_key_exists;
      if (c.activate_after < c.now) return signing_key_rejection::invalid_activation;
      out.push_back(signing_key_created{c.kid, std::string(signing_alg_es256), c.public_jwk, c.now,
                                        c.activate_after});
      return out;
    case key_activation::at_once:
      if (state.pending() != nullptr) return signing_key_rejection::pending_key_exists;
      if (state.active() != nullptr) return signing_key_rejection::active_key_exists;
      break;
    case key_activation::emergency:
      // Every earlier key stops signing and stops being published, now.
      for (const auto& k : state.keys) {
        if (is_published(k, c.now)) out.push_back(signing_key_retired{k.kid, c.now, c.now});
      }
      break;
  }
  out.push_back(
      signing_key_created{c.kid, std::string(signing_alg_es256), c.public_jwk, c.now, c.now});
  out.push_back(signing_key_activated{c.kid, c.now});
  return out;
}

decision decide_activate(const signing_key_set& state, const activate_signing_key& c) {
  const auto* key = state.find(c.kid);
  if (key == nullptr) return signing_key_rejection::key_not_found;
  if (key->status == signing_key_status::active) return std::vector<signing_key_event>{};
  if (key->status == signing_key_status::retired) return signing_key_rejection::key_retired;
  // Early only when nothing signs at all: a server without an active key issues no token.
  if (c.now < key->activate_after && state.active() != nullptr) {
    return signing_key_rejection::too_early;
  }
  // The new key's activation comes before the old key's retirement: a reader that applies one
  // event at a time (every node's signing key ring) always sees a key that may sign, the newest
  // active one, and never a moment without one in between.
  std::vector<signing_key_event> out{signing_key_activated{c.kid, c.now}};
  retire_active(state, c.now, out);
  return out;
}

decision decide_retire(const signing_key_set& state, const retire_signing_key& c) {
  const auto* key = state.find(c.kid);
  if (key == nullptr) return signing_key_rejection::key_not_found;
  switch (key->status) {
    case signing_key_status::retired:
      return std::vector<signing_key_event>{};
    case signing_key_status::pending:
      // It never signed anything: nothing needs it published.
      return std::vector<signing_key_event>{signing_key_retired{c.kid, c.now, c.now}};
    case signing_key_status::active:
      break;
  }
  return std::vector<signing_key_event>{
      signing_key_retired{c.kid, c.now, c.now + retired_key_publication}};
}

}  // namespace

bool valid_signing_key_id(std::string_view kid) noexcept {
  return valid_id(signing_key_id_tag, kid);
}

std::string_view to_string(signing_key_status s) noexcept {
  switch (s) {
    case signing_key_status::pending:
      return "pending";
    case signing_key_status::active:
      return "active";
    case signing_key_status::retired:
      return "retired";
  }
  return "unknown";
}

std::string_view event_type(const signing_key_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const signing_key_created&) { return std::string_view("SigningKeyCreated"); },
          [](const signing_key_activated&) { return std::string_view("SigningKeyActivated"); },
          [](const signing_key_retired&) { return std::string_view("SigningKeyRetired"); },
      },
      e);
}

std::string_view to_string(signing_key_rejection r) noexcept {
  switch (r) {
    case signing_key_rejection::invalid_kid:
      return "invalid_kid";
    case signing_key_rejection::key_exists:
      return "key_exists";
    case signing_key_rejection::invalid_public_key:
      return "invalid_public_key";
    case signing_key_rejection::invalid_activation:
      return "invalid_activation";
    case signing_key_rejection::pending_key_exists:
      return "pending_key_exists";
    case signing_key_rejection::active_key_exists:
      return "active_key_exists";
    case signing_key_rejection::key_not_found:
      return "key_not_found";
    case signing_key_rejection::key_retired:
      return "key_retired";
    case signing_key_rejection::too_early:
      return "too_early";
  }
  return "unknown";
}

const signing_key* signing_key_set::active() const noexcept {
  return last_with(*this, signing_key_status::active);
}

const signing_key* signing_key_set::pending() const noexcept {
  return last_with(*this, signing_key_status::pending);
}

const signing_key* signing_key_set::find(std::string_view kid) const noexcept {
  const auto it =
      std::find_if(keys.begin(), keys.end(), [&](const signing_key& k) { return k.kid == kid; });
  return it == keys.end() ? nullptr : &*it;
}

bool is_published(const signing_key& k, timestamp now) noexcept {
  return k.status != signing_key_status::retired || (k.publish_until && *k.publish_until > now);
}

std::vector<signing_key> published(const signing_key_set& state, timestamp now) {
  std::vector<signing_key> out;
  for (const auto& k : state.keys) {
    if (is_published(k, now)) out.push_back(k);
  }
  return out;
}

result<std::vector<signing_key_event>, signing_key_rejection> decide(
    const signing_key_set& state, const signing_key_command& command) {
  return std::visit(overloaded{
                        [&](const create_signing_key& c) { return decide_create(state, c); },
                        [&](const activate_signing_key& c) { return decide_activate(state, c); },
                        [&](const retire_signing_key& c) { return decide_retire(state, c); },
                    },
                    command);
}

signing_key_set evolve(signing_key_set state, const signing_key_event& event) {
  std::visit(overloaded{
                 [&](const signing_key_created& e) {
                   if (state.find(e.kid) != nullptr) return;
                   signing_key k;
                   k.kid = e.kid;
                   k.alg = e.alg;
                   k.public_jwk = e.public_jwk;
                   k.created_at = e.created_at;
                   k.activate_after = e.activate_after;
                   state.keys.push_back(std::move(k));
                 },
                 [&](const signing_key_activated& e) {
                   auto* k = find_mutable(state, e.kid);
                   if (k == nullptr || k->status != signing_key_status::pending) return;
                   k->status = signing_key_status::active;
                   k->activated_at = e.at;
                 },
                 [&](const signing_key_retired& e) {
                   auto* k = find_mutable(state, e.kid);
                   if (k == nullptr) return;
                   if (k->status == signing_key_status::retired) {
                     // Publication may only be shortened.
                     if (k->publish_until && e.publish_until < *k->publish_until) {
                       k->publish_until = e.publish_until;
                     }
                     return;
                   }
                   k->status = signing_key_status::retired;
                   k->retired_at = e.at;
                   k->publish_until = e.publish_until;
                 },
             },
             event);
  ++state.version;
  return state;
}

bool valid(const rotation_policy& p) noexcept {
  return p.overlap > std::chrono::seconds(0) && p.every > p.overlap;
}

std::optional<planned_step> plan(const signing_key_set& state, timestamp now,
                                 const rotation_policy& policy) {
  const auto* active = state.active();
  if (const auto* pending = state.pending()) {
    if (active == nullptr || pending->activate_after <= now) {
      return planned_step{activate_signing_key{pending->kid, now}};
    }
    return std::nullopt;
  }
  if (active == nullptr) return planned_step{new_key_due{key_activation::at_once, now}};
  const auto since = active->activated_at.value_or(active->created_at);
  if (now - since >= policy.every - policy.overlap) {
    return planned_step{new_key_due{key_activation::scheduled, now + policy.overlap}};
  }
  return std::nullopt;
}

}  // namespace keyledger::domain::oauth

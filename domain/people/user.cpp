#include "domain/people/user.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/keys/key_format.hpp"
#include "domain/overloaded.hpp"
#include "domain/text.hpp"

namespace keyledger::domain {

namespace {

using user_decision = result<std::vector<user_event>, member_rejection>;
using member_decision = result<std::vector<member_event>, member_rejection>;

// ---- UTF-8 (domain/text.hpp) -----------------------------------------------------------

// Counts code points; nullopt if `s` is not valid UTF-8 or holds a character `refused` says no
// to.
template <class Refused>
std::optional<std::size_t> count_code_points(std::string_view s, Refused refused) noexcept {
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto cp = decode_utf8(s, pos);
    if (!cp || refused(*cp)) return std::nullopt;
    ++count;
  }
  return count;
}

// True if `text` holds anything shaped like an API key, whatever its case and checksum:
// "_live_" or "_test_" with at least two alphanumerics before and 38 after. Emails and names
// are stored in events, so a pasted key must never get in that way - not even lowercased by
// normalize_email, which would leave it guessable from its checksum.
bool contains_key_shape(std::string_view text) noexcept {
  constexpr std::size_t env_length = 6;  // "_live_", "_test_"
  for (std::size_t i = 2; i + env_length + key_body_length <= text.size(); ++i) {
    std::string env;
    for (std::size_t j = 0; j < env_length; ++j) env.push_back(ascii_lower(text[i + j]));
    if (env != "_live_" && env != "_test_") continue;
    if (!is_ascii_alnum(text[i - 1]) || !is_ascii_alnum(text[i - 2])) continue;
    const std::string_view body = text.substr(i + env_length, key_body_length);
    if (std::all_of(body.begin(), body.end(), is_ascii_alnum)) return true;
  }
  return false;
}

bool valid_actor(std::string_view actor) noexcept { return valid_user_id(actor); }

// ---- user decisions -------------------------------------------------------------------------

user_decision decide_register(const user_state& state, const register_user& c) {
  if (state.exists) return member_rejection::user_already_exists;
  if (!valid_user_id(c.user_id)) return member_rejection::invalid_user_id;
  std::string email = normalize_email(c.email);
  if (!valid_email(email)) return member_rejection::invalid_email;
  std::string name = normalize_display_name(c.display_name);
  if (!valid_display_name(name)) return member_rejection::invalid_display_name;
  return std::vector<user_event>{
      user_registered{c.user_id, std::move(email), std::move(name), c.now}};
}

user_decision decide_set_password(const user_state& state, const set_user_password& c) {
  if (!state.exists || state.user_id != c.user_id) return member_rejection::user_not_found;
  return std::vector<user_event>{user_password_set{c.user_id, c.now}};
}

user_decision decide_change_display_name(const user_state& state, const change_display_name& c) {
  if (!state.exists || state.user_id != c.user_id) return member_rejection::user_not_found;
  std::string name = normalize_display_name(c.display_name);
  if (!valid_display_name(name)) return member_rejection::invalid_display_name;
  if (name == state.display_name) return std::vector<user_event>{};
  return std::vector<user_event>{user_display_name_changed{c.user_id, std::move(name), c.now}};
}

// ---- membership decisions -------------------------------------------------------------------

// The command must name this stream's workspace (any non-empty id for the first event).
bool right_workspace(const membership_state& state, std::string_view workspace_id) noexcept {
  if (workspace_id.empty()) return false;
  return state.workspace_id.empty() || state.workspace_id == workspace_id;
}

member_decision decide_invite(const membership_state& state, const invite_member& c) {
  if (!right_workspace(state, c.workspace_id)) return member_rejection::invalid_workspace_id;
  if (!valid_user_id(c.user_id)) return member_rejection::invalid_user_id;
  if (!valid_role(c.member_role)) return member_rejection::invalid_role;
  // "bootstrap" creates a workspace's first owner; afterwards only a user can invite.
  const bool first = state.members.empty();
  const bool bootstrap = c.invited_by == bootstrap_actor;
  if (bootstrap ? !first : !valid_actor(c.invited_by)) return member_rejection::invalid_actor;
  if (first && c.member_role != role::owner) return member_rejection::first_member_not_owner;
  if (state.members.contains(c.user_id)) return member_rejection::member_already_exists;
  if (c.invite_expires_at && *c.invite_expires_at <= c.now) {
    return member_rejection::invalid_invite_expiry;
  }
  return std::vector<member_event>{member_invited{c.workspace_id, c.user_id, c.member_role,
                                                  c.invited_by, c.now, c.invite_expires_at}};
}

member_decision decide_change_role(const membership_state& state, const change_member_role& c) {
  if (!right_workspace(state, c.workspace_id)) return member_rejection::invalid_workspace_id;
  if (!valid_role(c.new_role)) return member_rejection::invalid_role;
  if (!valid_actor(c.changed_by)) return member_rejection::invalid_actor;
  const auto current = state.role_of(c.user_id);
  if (!current) return member_rejection::member_not_found;
  if (*current == c.new_role) return std::vector<member_event>{};
  if (*current == role::owner && state.owner_count() <= 1) return member_rejection::last_owner;
  return std::vector<member_event>{
      member_role_changed{c.workspace_id, c.user_id, *current, c.new_role, c.changed_by, c.now}};
}

member_decision decide_remove(const membership_state& state, const remove_member& c) {
  if (!right_workspace(state, c.workspace_id)) return member_rejection::invalid_workspace_id;
  if (!valid_actor(c.removed_by)) return member_rejection::invalid_actor;
  const auto current = state.role_of(c.user_id);
  if (!current) return member_rejection::member_not_found;
  if (*current == role::owner && state.owner_count() <= 1) return member_rejection::last_owner;
  return std::vector<member_event>{member_removed{c.workspace_id, c.user_id, c.removed_by, c.now}};
}

}  // namespace

// ---- roles ----------------------------------------------------------------------------------

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::owner:
      return "owner";
    case role::admin:
      return "admin";
    case role::member:
      return "member";
    case role::auditor:
      return "auditor";
  }
  return "";
}

std::optional<role> parse_role(std::string_view text) noexcept {
  for (const role r : all_roles) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

bool valid_role(role r) noexcept {
  return std::find(all_roles.begin(), all_roles.end(), r) != all_roles.end();
}

std::string_view to_string(member_rejection r) noexcept {
  switch (r) {
    case member_rejection::user_already_exists:
      return "user_already_exists";
    case member_rejection::user_not_found:
      return "user_not_found";
    case member_rejection::invalid_user_id:
      return "invalid_user_id";
    case member_rejection::invalid_email:
      return "invalid_email";
    case member_rejection::invalid_display_name:
      return "invalid_display_name";
    case member_rejection::invalid_workspace_id:
      return "invalid_workspace_id";
    case member_rejection::member_already_exists:
      return "member_already_exists";
    case member_rejection::member_not_found:
      return "member_not_found";
    case member_rejection::invalid_role:
      return "invalid_role";
    case member_rejection::invalid_actor:
      return "invalid_actor";
    case member_rejection::first_member_not_owner:
      return "first_member_not_owner";
    case member_rejection::last_owner:
      return "last_owner";
    case member_rejection::invalid_invite_expiry:
      return "invalid_invite_expiry";
  }
  return "unknown";
}

// ---- identifiers and values -----------------------------------------------------------------

bool valid_user_id(std::string_view id) noexcept { return valid_id(user_id_tag, id); }

std::string normalize_email(std::string_view email) {
  std::string out(trim_ascii(email));
  for (char& c : out) {
    if (is_ascii_upper(c)) c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool valid_email(std::string_view email) noexcept {
  if (email.size() < min_email_length || email.size() > max_email_length) return false;
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size()) return false;
  if (email.find('@', at + 1) != std::string_view::npos) return false;
  if (std::any_of(email.begin(), email.end(), is_ascii_upper)) return false;
  const auto refused = [](char32_t cp) {
    // Unicode space separators too: an address is one token in every header and log line.
    return is_control(cp) || is_invisible_format(cp) || is_noncharacter(cp) || cp == 0x20 ||
           cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
  };
  if (!count_code_points(email, refused)) return false;
  return !contains_key_shape(email);
}

std::string normalize_display_name(std::string_view name) { return std::string(trim_ascii(name)); }

bool valid_display_name(std::string_view name) noexcept {
  if (name.empty() || name != trim_ascii(name)) return false;
  const auto count = count_code_points(name, [](char32_t cp) {
    return is_control(cp) || is_invisible_format(cp) || is_noncharacter(cp);
  });
  if (!count || *count < 1 || *count > max_display_name_length) return false;
  return !contains_key_shape(name);
}

std::string user_stream_id(std::string_view user_id) {
  std::string out = "user-";
  out.append(user_id);
  return out;
}

std::string members_stream_id(std::string_view workspace_id) {
  std::string out = "workspace_members-";
  out.append(workspace_id);
  return out;
}

// ---- user aggregate -------------------------------------------------------------------------

std::string_view event_type(const user_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const user_registered&) -> std::string_view { return "UserRegistered"; },
          [](const user_password_set&) -> std::string_view { return "UserPasswordSet"; },
          [](const user_display_name_changed&) -> std::string_view {
            return "UserDisplayNameChanged";
          },
      },
      e);
}

result<std::vector<user_event>, member_rejection> decide(const user_state& state,
                                                         const user_command& command) {
  return std::visit(
      overloaded{
          [&](const register_user& c) { return decide_register(state, c); },
          [&](const set_user_password& c) { return decide_set_password(state, c); },
          [&](const change_display_name& c) { return decide_change_display_name(state, c); },
      },
      command);
}

user_state evolve(user_state state, const user_event& event) {
  std::visit(overloaded{
                 [&](const user_registered& e) {
                   state.exists = true;
                   state.user_id = e.user_id;
                   state.email = e.email;
                   state.display_name = e.display_name;
                   state.registered_at = e.registered_at;
                 },
                 [&](const user_password_set& e) { state.password_set_at = e.set_at; },
                 [&](const user_display_name_changed& e) { state.display_name = e.display_name; },
             },
             event);
  ++state.version;
  return state;
}

// ---- membership aggregate -------------------------------------------------------------------

std::optional<role> membership_state::role_of(std::string_view user_id) const {
  const auto it = members.find(std::string(user_id));
  if (it == members.end()) return std::nullopt;
  return it->second;
}

std::size_t membership_state::owner_count() const noexcept {
  return static_cast<std::size_t>(std::count_if(
      members.begin(), members.end(), [](const auto& m) { return m.second == role::owner; }));
}

std::string_view event_type(const member_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const member_invited&) -> std::string_view { return "MemberInvited"; },
          [](const member_role_changed&) -> std::string_view { return "MemberRoleChanged"; },
          [](const member_removed&) -> std::string_view { return "MemberRemoved"; },
      },
      e);
}

result<std::vector<member_event>, member_rejection> decide(const membership_state& state,
                                                           const member_command& command) {
  return std::visit(overloaded{
                        [&](const invite_member& c) { return decide_invite(state, c); },
                        [&](const change_member_role& c) { return decide_change_role(state, c); },
                        [&](const remove_member& c) { return decide_remove(state, c); },
                    },
                    command);
}

membership_state evolve(membership_state state, const member_event& event) {
  std::visit(overloaded{
                 [&](const member_invited& e) {
                   if (state.workspace_id.empty()) state.workspace_id = e.workspace_id;
                   state.members[e.user_id] = e.member_role;
                 },
                 [&](const member_role_changed& e) {
                   if (state.workspace_id.empty()) state.workspace_id = e.workspace_id;
                   state.members[e.user_id] = e.to;
                 },
                 [&](const member_removed& e) {
                   if (state.workspace_id.empty()) state.workspace_id = e.workspace_id;
                   state.members.erase(e.user_id);
                 },
             },
             event);
  ++state.version;
  return state;
}

}  // namespace keyledger::domain

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"

// Users and workspace membership (issue 4). Two aggregates:
//   user-<user_id>                     UserRegistered, UserPasswordSet, UserDisplayNameChanged
//   workspace_members-<workspace_id>   MemberInvited, MemberRoleChanged, MemberRemoved
// No event carries a password, a password hash or a one-time token: events are immutable
// forever, so secret-derived material lives in mutable tables beside the log. See
// docs/users-and-roles.md.

namespace keyledger::domain {

// ---- roles --------------------------------------------------------------------------------

/// A user's role in one workspace. What each may do is in domain/people/policy.hpp.
enum class role : std::uint8_t { owner, admin, member, auditor };

inline constexpr std::array<role, 4> all_roles = {role::owner, role::admin, role::member,
                                                  role::auditor};

/// "owner", "admin", "member", "auditor" ("" for a value outside the enum).
std::string_view to_string(role r) noexcept;
/// Accepts exactly the four lowercase names.
std::optional<role> parse_role(std::string_view text) noexcept;
/// False for a value cast from outside the enum.
bool valid_role(role r) noexcept;

/// Why a user or membership command was refused. Values, never exceptions.
enum class member_rejection {
  user_already_exists,    ///< register: the user stream already has a user (409)
  user_not_found,         ///< the command needs a registered user
  invalid_user_id,        ///< not `usr_` + 22 base62 characters
  invalid_email,          ///< see valid_email
  invalid_display_name,   ///< see valid_display_name
  invalid_workspace_id,   ///< empty, or not the workspace this membership stream belongs to
  member_already_exists,  ///< invite: the user is a member already (409)
  member_not_found,       ///< change_role/remove: the user is not a member (404)
  invalid_role,
  invalid_actor,           ///< not a user id (or "bootstrap" where that is allowed)
  first_member_not_owner,  ///< a workspace's first member must be an owner
  last_owner,              ///< the last owner can be neither removed nor demoted (409)
  invalid_invite_expiry,   ///< invite_expires_at not after now
};

std::string_view to_string(member_rejection r) noexcept;

// ---- identifiers and values ---------------------------------------------------------------

/// The tag of user ids: domain::new_id(user_id_tag, random) gives `usr_` + 22 base62.
inline constexpr std::string_view user_id_tag = "usr";
/// invited_by of the first owner, created by `keyledger bootstrap` rather than by a user.
inline constexpr std::string_view bootstrap_actor = "bootstrap";

/// Exactly `usr_` followed by 22 base62 characters.
bool valid_user_id(std::string_view id) noexcept;

inline constexpr std::size_t min_email_length = 3;
inline constexpr std::size_t max_email_length = 254;
inline constexpr std::size_t max_display_name_length = 100;

/// Trims ASCII whitespace at both ends and lowercases ASCII letters (non-ASCII bytes are kept).
/// Emails are unique case-insensitively; this is the form stored and compared. Does not
/// validate.
std::string normalize_email(std::string_view email);

/// A normalized email: 3-254 bytes of valid UTF-8, exactly one '@' with something on both
/// sides, no ASCII uppercase, no space (Unicode space separators included), no control
/// character (C0, DEL, C1) or invisible format character, and nothing shaped like an API key
/// in any letter case (emails are stored in events).
bool valid_email(std::string_view email) noexcept;

/// Trims ASCII whitespace at both ends. Does not validate.
std::string normalize_display_name(std::string_view name);

/// A normalized display name: 1-100 Unicode characters of valid UTF-8, none a control
/// character or an invisible format character (the set valid_key_name refuses), no
/// leading/trailing whitespace, and nothing shaped like an API key in any letter case.
bool valid_display_name(std::string_view name) noexcept;

/// "user-<user_id>".
std::string user_stream_id(std::string_view user_id);
/// "workspace_members-<workspace_id>".
std::string members_stream_id(std::string_view workspace_id);

// ---- user aggregate -----------------------------------------------------------------------

/// Type name "UserRegistered". email and display_name are normalized and valid.
struct user_registered {
  std::string user_id;
  std::string email;
  std::string display_name;
  timestamp registered_at{};
  bool operator==(const user_registered&) const = default;
};

/// Type name "UserPasswordSet": the user (re)set their password. The Argon2id hash itself is
/// kept in the credentials table, never in the log.
struct user_password_set {
  std::string user_id;
  timestamp set_at{};
  bool operator==(const user_password_set&) const = default;
};

/// Type name "UserDisplayNameChanged".
struct user_display_name_changed {
  std::string user_id;
  std::string display_name;
  timestamp changed_at{};
  bool operator==(const user_display_name_changed&) const = default;
};

using user_event = std::variant<user_registered, user_password_set, user_display_name_changed>;

/// The stable type name stored in the event log.
std::string_view event_type(const user_event& e) noexcept;

struct user_state {
  std::uint64_t version = 0;
  bool exists = false;
  std::string user_id;
  std::string email;
  std::string display_name;
  timestamp registered_at{};
  std::optional<timestamp> password_set_at;  ///< last UserPasswordSet; nullopt: never set
};

/// Email and display name are normalized by decide (normalize_email/normalize_display_name)
/// before they are validated; the event holds the normalized values.
struct register_user {
  std::string user_id;
  std::string email;
  std::string display_name;
  timestamp now{};
};

/// Records that a password was set. The caller hashes the password and stores the hash only
/// after this command was decided and appended (or in the same transaction).
struct set_user_password {
  std::string user_id;
  timestamp now{};
};

/// The same name (after normalization) decides no event: an empty list, not a rejection.
struct change_display_name {
  std::string user_id;
  std::string display_name;
  timestamp now{};
};

using user_command = std::variant<register_user, set_user_password, change_display_name>;

/// Refuses: register - user_already_exists, invalid_user_id, invalid_email,
/// invalid_display_name; others - user_not_found (also when user_id is not this user's),
/// invalid_display_name.
result<std::vector<user_event>, member_rejection> decide(const user_state& state,
                                                         const user_command& command);
/// Pure; increments version.
user_state evolve(user_state state, const user_event& event);

// ---- membership aggregate (one per workspace) ---------------------------------------------

/// Type name "MemberInvited": the user became a member with `role`. invite_expires_at is the
/// expiry of the one-time set-password token issued with the invitation (its keyed hash lives
/// in a table, never here); nullopt when no token was issued (the user had a password already,
/// or bootstrap printed one).
struct member_invited {
  std::string workspace_id;
  std::string user_id;
  role member_role = role::member;
  std::string invited_by;  ///< a user id, or "bootstrap" for a workspace's first owner
  timestamp invited_at{};
  std::optional<timestamp> invite_expires_at;
  bool operator==(const member_invited&) const = default;
};

/// Type name "MemberRoleChanged".
struct member_role_changed {
  std::string workspace_id;
  std::string user_id;
  role from = role::member;
  role to = role::member;
  std::string changed_by;  ///< a user id
  timestamp changed_at{};
  bool operator==(const member_role_changed&) const = default;
};

/// Type name "MemberRemoved". The user's keys in this workspace stop working (their owner has
/// no role there any more).
struct member_removed {
  std::string workspace_id;
  std::string user_id;
  std::string removed_by;  ///< a user id
  timestamp removed_at{};
  bool operator==(const member_removed&) const = default;
};

using member_event = std::variant<member_invited, member_role_changed, member_removed>;

/// The stable type name stored in the event log.
std::string_view event_type(const member_event& e) noexcept;

struct membership_state {
  std::uint64_t version = 0;
  std::string workspace_id;             ///< "" until the first event
  std::map<std::string, role> members;  ///< user_id -> role

  /// The member's role, nullopt for a non-member.
  std::optional<role> role_of(std::string_view user_id) const;
  std::size_t owner_count() const noexcept;
};

/// Refuses: invalid_workspace_id, invalid_user_id, invalid_role, invalid_actor (invited_by not
/// a user id; "bootstrap" only for the first member), first_member_not_owner,
/// member_already_exists, invalid_invite_expiry (present and not after now).
struct invite_member {
  std::string workspace_id;
  std::string user_id;
  role member_role = role::member;
  std::string invited_by;
  std::optional<timestamp> invite_expires_at;
  timestamp now{};
};

/// The same role decides no event (an empty list). Refuses: invalid_workspace_id,
/// invalid_role, invalid_actor, member_not_found, last_owner (demoting the only owner).
/// Whether the actor may do it is policy's question (may_change_role), asked by the caller.
struct change_member_role {
  std::string workspace_id;
  std::string user_id;
  role new_role = role::member;
  std::string changed_by;
  timestamp now{};
};

/// Refuses: invalid_workspace_id, invalid_actor, member_not_found, last_owner.
struct remove_member {
  std::string workspace_id;
  std::string user_id;
  std::string removed_by;
  timestamp now{};
};

using member_command = std::variant<invite_member, change_member_role, remove_member>;

result<std::vector<member_event>, member_rejection> decide(const membership_state& state,
                                                           const member_command& command);
/// Pure; increments version.
membership_state evolve(membership_state state, const member_event& event);

}  // namespace keyledger::domain

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/people/policy.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"
#include "domain/people/user.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/people_store.hpp"
#include "infra/crypto/secret.hpp"
#include "services/app/key_service.hpp"
#include "services/app/principal.hpp"
#include "services/app/rate_limiter.hpp"

namespace keyledger::services {

class directory_view;

/// Why a user command failed. HTTP: forbidden 403, not_found 404, invalid_* 400,
/// already_member/last_owner 409, invalid_token 400, weak_password 400, bad_credentials 401,
/// choose_workspace 400, throttled 429.
enum class user_error {
  forbidden,
  not_found,
  invalid_email,
  invalid_display_name,
  invalid_role,
  already_member,
  last_owner,
  invalid_token,
  weak_password,
  bad_credentials,
  choose_workspace,  ///< the account belongs to several workspaces and none was named
  throttled,
};
std::string_view to_string(user_error e) noexcept;

struct invitation {
  std::string user_id;
  domain::role member_role = domain::role::member;
  infra::secret token;  ///< the one-time set-password token: leaves the process once
  domain::timestamp expires_at{};
  std::uint64_t global_seq = 0;
};

struct new_session {
  infra::secret session_id;  ///< the cookie value: leaves the process once
  std::string csrf_token;    ///< bound to the session (infra::csrf_token)
  infra::session_record record;
};

struct bootstrapped_owner {
  std::string user_id;
  infra::secret password;  ///< generated, shown once by `keyledger bootstrap`
  std::uint64_t global_seq = 0;
};

/// People: invitations, roles, removal, passwords, sessions. Authorization is decided here
/// with domain::policy against the acting principal (so every entry point - HTTP, CLI - gets
/// the same rules). Thread-safe; runs on pool threads with that thread's stores. Argon2id work
/// (~30 ms, 19 MiB) happens inside set_password/login: call them on the pool only.
class user_service {
 public:
  struct options {
    std::chrono::hours invitation_lifetime{24 * 7};
    domain::session_policy sessions;
    /// Failed logins allowed per account and per source IP in `login_window` before 429.
    std::uint32_t login_failures_allowed = 10;
    std::chrono::seconds login_window{15 * 60};
  };

  /// `token_key`: derive_key(server secret, "keyledger/invitation/v1") - invitation tokens are
  /// stored as HMAC-SHA256(token_key, token). `csrf_key`: derive_key(server secret,
  /// "keyledger/csrf/v1").
  user_service(infra::secret token_key, infra::secret csrf_key, domain::random_source& random,
               const domain::clock& clock, options opts);

  /// Registers the user if the email is new (UserRegistered with an event id derived from the
  /// normalised email, so an email is one user), invites them into actor's workspace with
  /// `role` (MemberInvited) and stores a fresh one-time token. Needs users_invite and
  /// domain::may_invite(actor role, role).
  domain::result<invitation, user_error> invite(infra::event_store& store,
                                                infra::people_store& people,
                                                const principal& actor, std::string_view email,
                                                std::string_view display_name, domain::role role,
                                                const request_context& ctx) const;

  /// MemberRoleChanged; ends the user's sessions in that workspace (they log in again with the
  /// new role). Needs users_change_role and may_change_role. Returns the global_seq (0: no
  /// change).
  domain::result<std::uint64_t, user_error> change_role(infra::event_store& store,
                                                        infra::people_store& people,
                                                        const principal& actor,
                                                        std::string_view user_id,
                                                        domain::role role,
                                                        const request_context& ctx) const;

  /// MemberRemoved; ends their sessions and drops their invitations. Their keys stop working
  /// at once (the key view treats keys of non-members as disabled: owner_removed).
  domain::result<std::uint64_t, user_error> remove(infra::event_store& store,
                                                   infra::people_store& people,
                                                   const principal& actor,
                                                   std::string_view user_id,
                                                   const request_context& ctx) const;

  /// What set_password did: whose password, and the global position of UserPasswordSet (the
  /// caller waits for its view to apply it before answering).
  struct password_set {
    std::string user_id;
    std::uint64_t global_seq = 0;
  };

  /// Consumes a one-time token, checks the password (12-1024 bytes), stores its Argon2id hash
  /// and appends UserPasswordSet.
  domain::result<password_set, user_error> set_password(infra::event_store& store,
                                                       infra::people_store& people,
                                                       std::string_view token,
                                                       const infra::secret& password,
                                                       const request_context& ctx) const;

  /// Email + password -> a session in `workspace` (an id or a name; may be empty when the
  /// account belongs to exactly one workspace). Unknown email and wrong password take the same
  /// time and give the same bad_credentials. Throttled per account and per IP after
  /// login_failures_allowed failures in login_window (throttled, with retry_after).
  domain::result<new_session, user_error> login(infra::people_store& people,
                                                const directory_view& directory,
                                                std::string_view email,
                                                const infra::secret& password,
                                                std::string_view workspace,
                                                std::string_view source_ip,
                                                std::chrono::seconds* retry_after) const;

  /// The principal of a session cookie if the session exists, is within its idle and absolute
  /// limits and its user is still a member; touches last_seen. Else nullopt.
  std::optional<principal> authenticate_session(infra::people_store& people,
                                                const directory_view& directory,
                                                std::string_view session_id) const;

  /// The CSRF token of a session (for a form the server renders, e.g. the OAuth consent page).
  std::string csrf_token_of(std::string_view session_id) const;

  /// True iff `token` is the CSRF token of the session.
  bool csrf_valid(std::string_view session_id, std::string_view token) const noexcept;

  void logout(infra::people_store& people, std::string_view session_id) const;

  /// Bootstrap: registers the owner (event id derived from the email), makes them the
  /// workspace's first member (owner, invited_by "bootstrap") and sets a generated password.
  domain::result<bootstrapped_owner, user_error> bootstrap_owner(
      infra::event_store& store, infra::people_store& people, std::string_view workspace_id,
      std::string_view email, const request_context& ctx) const;

 private:
  infra::secret token_key_;
  infra::secret csrf_key_;
  domain::random_source& random_;
  const domain::clock& clock_;
  options options_;
  mutable rate_limiter login_throttle_;
};

}  // namespace keyledger::services

#pragma once

// OAuth 2.0 grants (issue 8): what a person allowed an app to do in one of their workspaces,
// the authorization codes issued under it, and the refresh-token families those codes start.
// One aggregate per grant, stream "oauth_grant-<grant_id>", so that redeeming a code, rotating
// a refresh token and revoking are serialised by the stream's version: of two concurrent
// redemptions of one code exactly one wins, and the loser sees the code used. Pure; time is
// injected; no secret in any event (codes and refresh tokens are carried as keyed hashes made by
// the caller). docs/oauth.md ("Grants, codes and refresh families").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain::oauth {

/// An authorization code lives this long (issue 8: 60 s; RFC 6749 4.1.2 recommends <= 10 min).
inline constexpr std::chrono::seconds code_lifetime{60};
/// At most this many scopes in one grant (a client has at most 64 allowed scopes).
inline constexpr std::size_t max_grant_scopes = 64;

/// Why a refresh family ended.
enum class family_end {
  code_reused,     ///< its authorization code was presented again (RFC 6749 4.1.2)
  refresh_reused,  ///< a superseded refresh token was presented (RFC 9700 4.14.2)
  revoked,         ///< the client revoked its refresh token (RFC 7009)
  user_removed,    ///< the user is no longer a member of the grant's workspace
};
std::string_view to_string(family_end r) noexcept;  ///< "code_reused" ...
std::optional<family_end> parse_family_end(std::string_view text) noexcept;

// ---- events ---------------------------------------------------------------------------------

/// "GrantCreated": a person consented to `client_id` acting in `workspace_id` with `scopes`.
struct grant_created {
  std::string grant_id;
  std::string client_id;
  std::string user_id;
  std::string workspace_id;
  std::vector<std::string> scopes;  ///< sorted, distinct
  timestamp created_at{};
  bool operator==(const grant_created&) const = default;
};

/// "GrantExtended": the person consented again, to more scopes; `scopes` is the whole new set.
struct grant_extended {
  std::string grant_id;
  std::vector<std::string> scopes;  ///< sorted, distinct, a strict superset of the previous set
  timestamp at{};
  bool operator==(const grant_extended&) const = default;
};

/// "CodeIssued": an authorization code, bound to everything RFC 6749 4.1.3 and RFC 7636 4.6
/// check at redemption.
struct code_issued {
  std::string grant_id;
  std::string code_hash;  ///< keyed hash (hex) of the code
  std::string redirect_uri;
  std::string code_challenge;  ///< S256 only (RFC 7636 4.2): base64url(SHA-256(verifier))
  std::vector<std::string> scopes;  ///< sorted, distinct, within the grant's scopes
  std::string resource;             ///< RFC 8707; "" when none was requested
  timestamp issued_at{};
  timestamp expires_at{};  ///< issued_at + code_lifetime
  bool operator==(const code_issued&) const = default;
};

/// "CodeRedeemed": the code was exchanged; a refresh family starts (refresh_hash "" when the
/// client has no refresh_token grant: the family then only ties the access tokens to the code).
struct code_redeemed {
  std::string grant_id;
  std::string code_hash;
  std::string family_id;     ///< "rtf_" + 22 base62; the `sid` claim of its access tokens
  std::string refresh_hash;  ///< keyed hash (hex) of the first refresh token, or ""
  timestamp at{};
  timestamp idle_expires_at{};      ///< at + the client's idle lifetime
  timestamp absolute_expires_at{};  ///< at + the client's absolute lifetime
  bool operator==(const code_redeemed&) const = default;
};

/// "RefreshRotated": the family's refresh token was used and replaced (RFC 9700 4.14.2); the
/// previous one is superseded for ever.
struct refresh_rotated {
  std::string grant_id;
  std::string family_id;
  std::string refresh_hash;  ///< the new token's keyed hash
  timestamp at{};
  timestamp idle_expires_at{};  ///< at + idle lifetime, never after absolute_expires_at
  bool operator==(const refresh_rotated&) const = default;
};

/// "FamilyRevoked": every token of the family stops working.
struct family_revoked {
  std::string grant_id;
  std::string family_id;
  family_end reason = family_end::revoked;
  timestamp at{};
  bool operator==(const family_revoked&) const = default;
};

/// "GrantRevoked": the person withdrew the app's access; every family ends, the remembered
/// consent is forgotten, no command but none is accepted afterwards.
struct grant_revoked {
  std::string grant_id;
  std::string revoked_by;  ///< user id
  timestamp at{};
  bool operator==(const grant_revoked&) const = default;
};

using grant_event = std::variant<grant_created, grant_extended, code_issued, code_redeemed,
                                 refresh_rotated, family_revoked, grant_revoked>;
std::string_view event_type(const grant_event& e) noexcept;

// ---- state ----------------------------------------------------------------------------------

struct code_entry {
  std::string code_hash;
  std::string redirect_uri;
  std::string code_challenge;
  std::vector<std::string> scopes;
  std::string resource;
  timestamp issued_at{};
  timestamp expires_at{};
  std::string redeemed_family;  ///< "" until redeemed
  bool operator==(const code_entry&) const = default;
};

struct family_entry {
  std::string family_id;
  std::string code_hash;  ///< the code that started it
  std::vector<std::string> scopes;
  std::string resource;
  std::string refresh_hash;                     ///< the current one; "" when none
  std::vector<std::string> superseded_hashes;   ///< every earlier one, oldest first
  timestamp started_at{};
  timestamp last_used_at{};
  timestamp idle_expires_at{};
  timestamp absolute_expires_at{};
  std::optional<family_end> ended;
  std::optional<timestamp> ended_at;
  bool operator==(const family_entry&) const = default;

  /// Whether the family's tokens work at `now`: not ended, and (for its refresh token) before
  /// both expiries.
  bool live(timestamp now) const noexcept;
};

struct grant_state {
  std::uint64_t version = 0;
  bool exists = false;
  bool revoked = false;
  std::string grant_id;
  std::string client_id;
  std::string user_id;
  std::string workspace_id;
  std::vector<std::string> scopes;
  timestamp created_at{};
  std::optional<timestamp> revoked_at;
  /// Codes issued and not yet expired at the last event (evolve drops codes whose expiry is
  /// older than the newest event by more than a day, so a grant's state stays small).
  std::vector<code_entry> codes;
  std::vector<family_entry> families;

  const code_entry* find_code(std::string_view code_hash) const noexcept;
  const family_entry* find_family(std::string_view family_id) const noexcept;
  /// The family whose current or a superseded refresh token has `refresh_hash`.
  const family_entry* family_of_refresh(std::string_view refresh_hash) const noexcept;
};

// ---- commands -------------------------------------------------------------------------------

/// Consent: creates the grant, or extends it when `scopes` is wider; consent to no wider scopes
/// decides nothing.
struct consent {
  std::string grant_id;  ///< for a new grant: "grt_" + 22 base62; else the existing one's id
  std::string client_id;
  std::string user_id;
  std::string workspace_id;
  std::vector<std::string> scopes;
  timestamp now{};
};

/// Issue a code under an existing grant (after `consent` in the same request, or for a
/// remembered consent). The scopes must be within the grant's.
struct issue_code {
  std::string grant_id;
  std::string code_hash;
  std::string redirect_uri;
  std::string code_challenge;
  std::vector<std::string> scopes;
  std::string resource;
  timestamp now{};
};

/// RFC 6749 4.1.3 + RFC 7636 4.6: what the token request presented. The caller has
/// authenticated the client and computed `verifier_challenge` = base64url(SHA-256(verifier))
/// (the domain has no SHA-256) from a syntactically valid code_verifier.
struct redeem_code {
  std::string grant_id;
  std::string code_hash;
  std::string client_id;
  std::string redirect_uri;  ///< as presented ("" when absent: refused, we always bind one)
  std::string verifier_challenge;
  std::string family_id;     ///< fresh "rtf_" id
  std::string refresh_hash;  ///< "" when the client has no refresh_token grant
  std::chrono::seconds idle_lifetime{};
  std::chrono::seconds absolute_lifetime{};
  timestamp now{};
};

/// RFC 6749 6 + RFC 9700 4.14.2: use the family's current refresh token, get a new one.
/// `scopes` empty: the family's scopes; else they must be within them (no escalation).
struct rotate_refresh {
  std::string grant_id;
  std::string refresh_hash;  ///< of the presented token
  std::string client_id;
  std::string new_refresh_hash;
  std::vector<std::string> scopes;
  std::chrono::seconds idle_lifetime{};
  timestamp now{};
};

/// Ends a family (reuse detected by the caller from a rejection, or an RFC 7009 revocation).
/// A family already ended decides nothing.
struct revoke_family {
  std::string grant_id;
  std::string family_id;
  family_end reason = family_end::revoked;
  timestamp now{};
};

/// The person withdraws the grant. Already revoked: nothing.
struct revoke_grant {
  std::string grant_id;
  std::string revoked_by;
  timestamp now{};
};

using grant_command =
    std::variant<consent, issue_code, redeem_code, rotate_refresh, revoke_family, revoke_grant>;

/// Why a grant command was refused. grant_not_found to family_ended map to RFC 6749
/// `invalid_grant` at the token endpoint (RFC 6749 5.2 names refresh tokens too), scope_widened
/// to `invalid_scope`; invalid_command is a caller's bug. The caller reacts to code_reused and
/// refresh_reused by revoking the family that family_of_reuse names.
enum class grant_rejection {
  grant_not_found,
  grant_revoked,
  code_not_found,      ///< no such code (or another grant's)
  code_expired,
  code_reused,         ///< already redeemed: the caller revokes the family it started
  code_mismatch,       ///< another client, another redirect_uri, or a wrong code_verifier
  refresh_not_found,
  refresh_reused,      ///< a superseded token: the caller revokes the family
  refresh_expired,     ///< idle or absolute expiry passed
  family_ended,        ///< the family was revoked
  scope_widened,       ///< a code or refresh asked for scopes outside the grant / family
  invalid_command,     ///< malformed ids, hashes, challenge, empty scopes, another user's grant
};
std::string_view to_string(grant_rejection r) noexcept;

/// The stream of one grant: "oauth_grant-<grant_id>".
std::string grant_stream_id(std::string_view grant_id);
inline constexpr std::string_view grant_id_tag = "grt";
inline constexpr std::string_view family_id_tag = "rtf";
bool valid_grant_id(std::string_view id) noexcept;
bool valid_family_id(std::string_view id) noexcept;

/// The family a reuse rejection concerns (for code_reused: the family the code started; for
/// refresh_reused: the family the token belonged to); nullopt otherwise.
std::optional<std::string> family_of_reuse(const grant_state& state, const grant_command& command,
                                           grant_rejection r);

/// Refuses: consent - invalid_command (bad ids, no scopes, more than max_grant_scopes, a
/// different client/user/workspace than the existing grant), grant_revoked; every other command -
/// grant_not_found, grant_revoked; issue_code - scope_widened, invalid_command (empty
/// redirect_uri or challenge not 43 base64url characters); redeem_code - code_not_found,
/// code_reused (checked before expiry: a reuse is always detected), code_expired
/// (now >= expires_at), code_mismatch (client, exact redirect_uri, challenge - compared as
/// strings: they are public values, not secrets), family_ended never; rotate_refresh -
/// refresh_not_found, refresh_reused, family_ended, refresh_expired (now >= idle or absolute
/// expiry), code_mismatch (another client), scope_widened; revoke_family - nothing for an ended
/// family.
result<std::vector<grant_event>, grant_rejection> decide(const grant_state& state,
                                                         const grant_command& command);

grant_state evolve(grant_state state, const grant_event& event);

}  // namespace keyledger::domain::oauth

#include "domain/oauth/grant.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "domain/encoding.hpp"
#include "domain/keys/key_settings.hpp"
#include "domain/oauth/client.hpp"
#include "domain/overloaded.hpp"
#include "domain/people/user.hpp"

namespace keyledger::domain::oauth {
namespace {

using decision = result<std::vector<grant_event>, grant_rejection>;
using scope_list = std::vector<std::string>;

/// The tag of workspace ids (workspace_service: new_id("ws", ...)).
constexpr std::string_view workspace_id_tag = "ws";
/// An S256 code_challenge: base64url of 32 bytes, no padding (RFC 7636 4.2).
constexpr std::size_t challenge_length = 43;
constexpr std::size_t sha256_length = 32;
constexpr std::size_t max_resource_length = 2048;
/// Codes whose expiry is older than this at the event being applied are dropped from the state.
constexpr std::chrono::hours code_retention{24};

// ---- values ---------------------------------------------------------------------------------

scope_list normalised(scope_list scopes) {
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  return scopes;
}

/// Both sorted and distinct.
bool within(const scope_list& inner, const scope_list& outer) {
  return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

bool valid_consent_scopes(const scope_list& sorted) {
  return !sorted.empty() && sorted.size() <= max_grant_scopes &&
         std::all_of(sorted.begin(), sorted.end(),
                     [](const std::string& s) { return valid_scope(s); });
}

// Strict base64url (unused trailing bits zero) of exactly 32 bytes: what S256 gives.
bool valid_challenge(std::string_view challenge) {
  if (challenge.size() != challenge_length) return false;
  const auto bytes = base64url_decode(challenge);
  return bytes && bytes->size() == sha256_length;
}

// RFC 8707 2: an absolute URI (a scheme, then ':'), without a fragment; printable ASCII.
bool valid_resource(std::string_view resource) {
  if (resource.empty()) return true;
  if (resource.size() > max_resource_length || !is_ascii_lower(resource.front())) return false;
  const bool printable = std::all_of(resource.begin(), resource.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '#';
  });
  if (!printable) return false;
  const auto colon = resource.find(':');
  if (colon == std::string_view::npos || colon + 1 == resource.size()) return false;
  const auto scheme = resource.substr(0, colon);
  return std::all_of(scheme.begin(), scheme.end(), [](char c) {
    return is_ascii_lower(c) || is_ascii_digit(c) || c == '+' || c == '-' || c == '.';
  });
}

bool valid_refresh_lifetime(std::chrono::seconds s) {
  return s >= min_refresh_lifetime && s <= max_refresh_lifetime;
}

// Any refresh token hash the grant has ever seen: a new one must be fresh, so that
// family_of_refresh names exactly one family.
bool refresh_hash_known(const grant_state& s, std::string_view hash) {
  return s.family_of_refresh(hash) != nullptr;
}

// The element of `range` whose `member` is `value`, or nullptr.
template <class Range, class Member>
auto find_by(Range& range, Member member, std::string_view value) -> decltype(&*range.begin()) {
  const auto it =
      std::find_if(range.begin(), range.end(), [&](const auto& x) { return x.*member == value; });
  return it == range.end() ? nullptr : &*it;
}

// The family a code started: it outlives the code's entry in the state.
const family_entry* family_of_code(const grant_state& s, std::string_view code_hash) {
  return find_by(s.families, &family_entry::code_hash, code_hash);
}

timestamp time_of(const grant_event& e) {
  return std::visit(overloaded{
                        [](const grant_created& x) { return x.created_at; },
                        [](const grant_extended& x) { return x.at; },
                        [](const code_issued& x) { return x.issued_at; },
                        [](const code_redeemed& x) { return x.at; },
                        [](const refresh_rotated& x) { return x.at; },
                        [](const family_revoked& x) { return x.at; },
                        [](const grant_revoked& x) { return x.at; },
                    },
                    e);
}

family_entry* family_to_change(grant_state& s, std::string_view family_id) {
  return find_by(s.families, &family_entry::family_id, family_id);
}

// ---- decisions ------------------------------------------------------------------------------

// Every command but consent and revoke_grant needs a grant that exists and is not revoked.
std::optional<grant_rejection> usable(const grant_state& s, std::string_view grant_id) {
  if (!s.exists || s.grant_id != grant_id) return grant_rejection::grant_not_found;
  if (s.revoked) return grant_rejection::grant_revoked;
  return std::nullopt;
}

decision decide_consent(const grant_state& s, const consent& c) {
  if (s.revoked) return grant_rejection::grant_revoked;
  if (!valid_grant_id(c.grant_id) || !valid_client_id(c.client_id) || !valid_user_id(c.user_id) ||
      !valid_id(workspace_id_tag, c.workspace_id)) {
    return grant_rejection::invalid_command;
  }
  auto scopes = normalised(c.scopes);
  if (!valid_consent_scopes(scopes)) return grant_rejection::invalid_command;
  if (!s.exists) {
    return std::vector<grant_event>{grant_created{c.grant_id, c.client_id, c.user_id,
                                                  c.workspace_id, std::move(scopes), c.now}};
  }
  // A remembered consent belongs to one client, one person and one workspace.
  if (c.grant_id != s.grant_id || c.client_id != s.client_id || c.user_id != s.user_id ||
      c.workspace_id != s.workspace_id) {
    return grant_rejection::invalid_command;
  }
  if (within(scopes, s.scopes)) return std::vector<grant_event>{};
  scope_list wider;
  std::set_union(s.scopes.begin(), s.scopes.end(), scopes.begin(), scopes.end(),
                 std::back_inserter(wider));
  if (wider.size() > max_grant_scopes) return grant_rejection::invalid_command;
  return std::vector<grant_event>{grant_extended{c.grant_id, std::move(wider), c.now}};
}

decision decide_issue(const grant_state& s, const issue_code& c) {
  if (auto bad = usable(s, c.grant_id)) return *bad;
  if (!is_keyed_hash(c.code_hash) || s.find_code(c.code_hash) != nullptr ||
      family_of_code(s, c.code_hash) != nullptr || !valid_redirect_uri(c.redirect_uri) ||
      !valid_challenge(c.code_challenge) || !valid_resource(c.resource) || c.scopes.empty()) {
    return grant_rejection::invalid_command;
  }
  // A malformed scope is outside the grant too: both are RFC 6749 invalid_scope.
  auto scopes = normalised(c.scopes);
  if (!within(scopes, s.scopes)) return grant_rejection::scope_widened;
  return std::vector<grant_event>{code_issued{c.grant_id, c.code_hash, c.redirect_uri,
                                              c.code_challenge, std::move(scopes), c.resource,
                                              c.now, c.now + code_lifetime}};
}

decision decide_redeem(const grant_state& s, const redeem_code& c) {
  if (auto bad = usable(s, c.grant_id)) return *bad;
  // What the caller made (not what the client presented) must be well formed and fresh.
  if (!valid_family_id(c.family_id) || s.find_family(c.family_id) != nullptr ||
      (!c.refresh_hash.empty() &&
       (!is_keyed_hash(c.refresh_hash) || refresh_hash_known(s, c.refresh_hash))) ||
      !valid_refresh_lifetime(c.idle_lifetime) || !valid_refresh_lifetime(c.absolute_lifetime) ||
      c.idle_lifetime > c.absolute_lifetime) {
    return grant_rejection::invalid_command;
  }
  // A second use is detected before anything else about the request (RFC 6749 4.1.2), also
  // once the code itself has been dropped from the state: its family remembers it.
  if (family_of_code(s, c.code_hash) != nullptr) return grant_rejection::code_reused;
  const code_entry* code = s.find_code(c.code_hash);
  if (code == nullptr) return grant_rejection::code_not_found;
  if (c.now >= code->expires_at) return grant_rejection::code_expired;
  // RFC 6749 4.1.3 and RFC 7636 4.6; exact string comparison of public values.
  if (c.client_id != s.client_id || c.redirect_uri.empty() ||
      c.redirect_uri != code->redirect_uri || c.verifier_challenge != code->code_challenge) {
    return grant_rejection::code_mismatch;
  }
  // idle <= absolute was checked above: the idle expiry never passes the absolute one.
  return std::vector<grant_event>{code_redeemed{c.grant_id, c.code_hash, c.family_id,
                                                c.refresh_hash, c.now, c.now + c.idle_lifetime,
                                                c.now + c.absolute_lifetime}};
}

decision decide_rotate(const grant_state& s, const rotate_refresh& c) {
  if (auto bad = usable(s, c.grant_id)) return *bad;
  if (!is_keyed_hash(c.new_refresh_hash) || refresh_hash_known(s, c.new_refresh_hash) ||
      !valid_refresh_lifetime(c.idle_lifetime)) {
    return grant_rejection::invalid_command;
  }
  const family_entry* family = s.family_of_refresh(c.refresh_hash);
  if (family == nullptr) return grant_rejection::refresh_not_found;
  if (family->refresh_hash != c.refresh_hash) return grant_rejection::refresh_reused;
  if (family->ended) return grant_rejection::family_ended;
  if (!family->live(c.now)) return grant_rejection::refresh_expired;
  if (c.client_id != s.client_id) return grant_rejection::code_mismatch;
  // RFC 6749 6: the access token may be narrower; the new refresh token keeps the family's.
  if (!within(normalised(c.scopes), family->scopes)) return grant_rejection::scope_widened;
  return std::vector<grant_event>{
      refresh_rotated{c.grant_id, family->family_id, c.new_refresh_hash, c.now,
                      std::min(c.now + c.idle_lifetime, family->absolute_expires_at)}};
}

decision decide_revoke_family(const grant_state& s, const revoke_family& c) {
  if (auto bad = usable(s, c.grant_id)) return *bad;
  const family_entry* family = s.find_family(c.family_id);
  if (family == nullptr) return grant_rejection::invalid_command;
  if (family->ended) return std::vector<grant_event>{};
  return std::vector<grant_event>{family_revoked{c.grant_id, c.family_id, c.reason, c.now}};
}

decision decide_revoke_grant(const grant_state& s, const revoke_grant& c) {
  if (!s.exists || s.grant_id != c.grant_id) return grant_rejection::grant_not_found;
  // Only the person who consented withdraws the consent.
  if (c.revoked_by != s.user_id) return grant_rejection::invalid_command;
  if (s.revoked) return std::vector<grant_event>{};
  return std::vector<grant_event>{grant_revoked{c.grant_id, c.revoked_by, c.now}};
}

// ---- evolution ------------------------------------------------------------------------------

void end_family(family_entry& f, family_end reason, timestamp at) {
  if (f.ended) return;  // the first reason stays
  f.ended = reason;
  f.ended_at = at;
}

void apply(grant_state& s, const code_redeemed& e) {
  family_entry f;
  f.family_id = e.family_id;
  f.code_hash = e.code_hash;
  for (auto& code : s.codes) {
    if (code.code_hash != e.code_hash) continue;
    code.redeemed_family = e.family_id;
    f.scopes = code.scopes;
    f.resource = code.resource;
  }
  f.refresh_hash = e.refresh_hash;
  f.started_at = e.at;
  f.last_used_at = e.at;
  f.idle_expires_at = e.idle_expires_at;
  f.absolute_expires_at = e.absolute_expires_at;
  s.families.push_back(std::move(f));
}

void apply(grant_state& s, const refresh_rotated& e) {
  family_entry* f = family_to_change(s, e.family_id);
  if (f == nullptr) return;
  if (!f->refresh_hash.empty()) f->superseded_hashes.push_back(std::move(f->refresh_hash));
  f->refresh_hash = e.refresh_hash;
  f->last_used_at = e.at;
  f->idle_expires_at = e.idle_expires_at;
}

}  // namespace

std::string_view to_string(family_end r) noexcept {
  switch (r) {
    case family_end::code_reused:
      return "code_reused";
    case family_end::refresh_reused:
      return "refresh_reused";
    case family_end::revoked:
      return "revoked";
    case family_end::user_removed:
      return "user_removed";
  }
  return "";
}

std::optional<family_end> parse_family_end(std::string_view text) noexcept {
  for (const auto r : {family_end::code_reused, family_end::refresh_reused, family_end::revoked,
                       family_end::user_removed}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

std::string_view event_type(const grant_event& e) noexcept {
  return std::visit(overloaded{
                        [](const grant_created&) { return std::string_view("GrantCreated"); },
                        [](const grant_extended&) { return std::string_view("GrantExtended"); },
                        [](const code_issued&) { return std::string_view("CodeIssued"); },
                        [](const code_redeemed&) { return std::string_view("CodeRedeemed"); },
                        [](const refresh_rotated&) { return std::string_view("RefreshRotated"); },
                        [](const family_revoked&) { return std::string_view("FamilyRevoked"); },
                        [](const grant_revoked&) { return std::string_view("GrantRevoked"); },
                    },
                    e);
}

bool family_entry::live(timestamp now) const noexcept {
  return !ended && now < idle_expires_at && now < absolute_expires_at;
}

const code_entry* grant_state::find_code(std::string_view code_hash) const noexcept {
  return find_by(codes, &code_entry::code_hash, code_hash);
}

const family_entry* grant_state::find_family(std::string_view family_id) const noexcept {
  return find_by(families, &family_entry::family_id, family_id);
}

const family_entry* grant_state::family_of_refresh(std::string_view refresh_hash) const noexcept {
  // A family without a refresh token has refresh_hash "": "" never names it.
  if (refresh_hash.empty()) return nullptr;
  const auto it = std::find_if(families.begin(), families.end(), [&](const family_entry& f) {
    return f.refresh_hash == refresh_hash ||
           std::find(f.superseded_hashes.begin(), f.superseded_hashes.end(), refresh_hash) !=
               f.superseded_hashes.end();
  });
  return it == families.end() ? nullptr : &*it;
}

std::string_view to_string(grant_rejection r) noexcept {
  switch (r) {
    case grant_rejection::grant_not_found:
      return "grant_not_found";
    case grant_rejection::grant_revoked:
      return "grant_revoked";
    case grant_rejection::code_not_found:
      return "code_not_found";
    case grant_rejection::code_expired:
      return "code_expired";
    case grant_rejection::code_reused:
      return "code_reused";
    case grant_rejection::code_mismatch:
      return "code_mismatch";
    case grant_rejection::refresh_not_found:
      return "refresh_not_found";
    case grant_rejection::refresh_reused:
      return "refresh_reused";
    case grant_rejection::refresh_expired:
      return "refresh_expired";
    case grant_rejection::family_ended:
      return "family_ended";
    case grant_rejection::scope_widened:
      return "scope_widened";
    case grant_rejection::invalid_command:
      return "invalid_command";
  }
  return "unknown";
}

std::string grant_stream_id(std::string_view grant_id) {
  std::string out = "oauth_grant-";
  out.append(grant_id);
  return out;
}

bool valid_grant_id(std::string_view id) noexcept { return valid_id(grant_id_tag, id); }
bool valid_family_id(std::string_view id) noexcept { return valid_id(family_id_tag, id); }

std::optional<std::string> family_of_reuse(const grant_state& state, const grant_command& command,
                                           grant_rejection r) {
  const family_entry* family = nullptr;
  if (const auto* c = std::get_if<redeem_code>(&command);
      c != nullptr && r == grant_rejection::code_reused) {
    family = family_of_code(state, c->code_hash);
  }
  if (const auto* c = std::get_if<rotate_refresh>(&command);
      c != nullptr && r == grant_rejection::refresh_reused) {
    family = state.family_of_refresh(c->refresh_hash);
  }
  if (family == nullptr) return std::nullopt;
  return family->family_id;
}

result<std::vector<grant_event>, grant_rejection> decide(const grant_state& state,
                                                         const grant_command& command) {
  return std::visit(overloaded{
                        [&](const consent& c) { return decide_consent(state, c); },
                        [&](const issue_code& c) { return decide_issue(state, c); },
                        [&](const redeem_code& c) { return decide_redeem(state, c); },
                        [&](const rotate_refresh& c) { return decide_rotate(state, c); },
                        [&](const revoke_family& c) { return decide_revoke_family(state, c); },
                        [&](const revoke_grant& c) { return decide_revoke_grant(state, c); },
                    },
                    command);
}

grant_state evolve(grant_state state, const grant_event& event) {
  // Codes live a minute; a day after their expiry they are of no use even to an audit of the
  // state (a redeemed one is still known by the family it started).
  const timestamp now = time_of(event);
  std::erase_if(state.codes,
                [&](const code_entry& c) { return now - c.expires_at > code_retention; });
  std::visit(
      overloaded{
          [&](const grant_created& e) {
            state.exists = true;
            state.grant_id = e.grant_id;
            state.client_id = e.client_id;
            state.user_id = e.user_id;
            state.workspace_id = e.workspace_id;
            state.scopes = e.scopes;
            state.created_at = e.created_at;
          },
          [&](const grant_extended& e) { state.scopes = e.scopes; },
          [&](const code_issued& e) {
            state.codes.push_back(code_entry{e.code_hash, e.redirect_uri, e.code_challenge,
                                             e.scopes, e.resource, e.issued_at, e.expires_at, ""});
          },
          [&](const code_redeemed& e) { apply(state, e); },
          [&](const refresh_rotated& e) { apply(state, e); },
          [&](const family_revoked& e) {
            if (auto* f = family_to_change(state, e.family_id)) end_family(*f, e.reason, e.at);
          },
          [&](const grant_revoked& e) {
            state.revoked = true;
            state.revoked_at = e.at;
            for (auto& f : state.families) end_family(f, family_end::revoked, e.at);
          },
      },
      event);
  ++state.version;
  return state;
}

}  // namespace keyledger::domain::oauth

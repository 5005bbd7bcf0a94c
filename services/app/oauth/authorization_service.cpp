#include "services/app/oauth/authorization_service.hpp"

#include <algorithm>
#include <array>
#include <span>

#include "domain/encoding.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/grant_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_grant_view.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;
using domain::problem;
using domain::problem_kind;

bool covers(const std::vector<std::string>& granted, const std::vector<std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& s) {
    return std::find(granted.begin(), granted.end(), s) != granted.end();
  });
}

}  // namespace

authorization_service::authorization_service(dependencies deps) : d_(std::move(deps)) {}

std::vector<workspace_option> authorization_service::workspaces_for(
    std::string_view user_id, const std::vector<std::string>& scopes) const {
  std::vector<workspace_option> out;
  for (const auto& [workspace_id, member_role] : d_.directory.memberships(user_id)) {
    const auto workspace = d_.keys.find_workspace(workspace_id);
    if (!workspace) continue;
    const auto& catalog = workspace->scope_catalog;
    // Captured by name, not as a structured binding (clang before 16 cannot capture those).
    const auto role = member_role;
    const bool all = std::all_of(scopes.begin(), scopes.end(), [&](const std::string& s) {
      return std::find(catalog.begin(), catalog.end(), s) != catalog.end() &&
             domain::role_allows_scope(role, s, catalog);
    });
    if (all) out.push_back({workspace_id, workspace->name, member_role});
  }
  return out;
}

std::optional<std::string> authorization_service::remembered(
    std::string_view user_id, std::string_view client_id, const std::vector<std::string>& scopes,
    const std::vector<workspace_option>& options) const {
  for (const auto& o : options) {
    const auto grant = d_.grants.find(user_id, client_id, o.workspace_id);
    if (grant && covers(grant->scopes, scopes)) return o.workspace_id;
  }
  return std::nullopt;
}

domain::result<issued_code, problem> authorization_service::approve(
    infra::event_store& store, const oauth::authorization_request& request,
    std::string_view user_id, std::string_view workspace_id, const request_context& ctx) const {
  const auto options = workspaces_for(user_id, request.scopes);
  if (std::none_of(options.begin(), options.end(),
                   [&](const auto& o) { return o.workspace_id == workspace_id; })) {
    return oauth_problem("access_denied",
                         "You may not grant these scopes in the workspace you chose");
  }
  const auto existing = d_.grants.find(user_id, request.client_id, workspace_id);
  const auto grant_id =
      existing ? existing->grant_id : domain::new_id(oauth::grant_id_tag, d_.random);
  std::array<std::uint8_t, 32> bytes{};
  d_.random.fill(bytes);
  infra::secret code(std::string(code_prefix) + grant_id + "." +
                     domain::base64url_encode(std::span<const std::uint8_t>(bytes)));
  const auto now = d_.clock.now();
  auto state = existing ? fold_stream<oauth::grant_state>(store, oauth::grant_stream_id(grant_id),
                                                          infra::decode_grant_event)
                        : oauth::grant_state{};
  // Consent is remembered for the union of what was granted before and what is asked now.
  auto scopes = state.scopes;
  scopes.insert(scopes.end(), request.scopes.begin(), request.scopes.end());
  const oauth::consent consent{grant_id,
                               request.client_id,
                               std::string(user_id),
                               std::string(workspace_id),
                               std::move(scopes),
                               now};
  const oauth::issue_code issue{grant_id,
                                d_.hasher.hash_hex(code.reveal()),
                                request.redirect_uri,
                                request.code_challenge,
                                request.scopes,
                                request.resource,
                                now};
  auto done = execute(
      store, oauth::grant_stream_id(grant_id), std::move(state),
      [&](const oauth::grant_state& s)
          -> domain::result<std::vector<oauth::grant_event>, oauth::grant_rejection> {
        auto consented = oauth::decide(s, consent);
        if (!consented) return consented.error();
        auto after = s;
        for (const auto& e : consented.value()) after = oauth::evolve(std::move(after), e);
        auto issued = oauth::decide(after, issue);
        if (!issued) return issued.error();
        auto events = std::move(consented.value());
        events.insert(events.end(), issued->begin(), issued->end());
        return events;
      },
      ctx, d_.random, now);
  if (!done) {
    return problem::of(problem_kind::internal, "INTERNAL",
                       std::string(oauth::to_string(done.error())));
  }
  return issued_code{std::move(code), grant_id, done->position.last_seq};
}

std::vector<oauth::grant_state> authorization_service::grants_of(std::string_view user_id) const {
  return d_.grants.of_user(user_id);
}

domain::result<std::uint64_t, problem> authorization_service::revoke(
    infra::event_store& store, std::string_view user_id, std::string_view grant_id,
    const request_context& ctx) const {
  if (!oauth::valid_grant_id(grant_id)) return problem::of(problem_kind::not_found, "NOT_FOUND");
  auto state = fold_stream<oauth::grant_state>(store, oauth::grant_stream_id(grant_id),
                                               infra::decode_grant_event);
  // Someone else's grant does not exist for this person.
  if (!state.exists || state.user_id != user_id) {
    return problem::of(problem_kind::not_found, "NOT_FOUND");
  }
  const auto now = d_.clock.now();
  const oauth::revoke_grant command{std::string(grant_id), std::string(user_id), now};
  auto done = execute(
      store, oauth::grant_stream_id(grant_id), std::move(state),
      [&](const oauth::grant_state& s) { return oauth::decide(s, command); }, ctx, d_.random, now);
  if (!done) return std::uint64_t{0};  // revoked already
  return done->position.last_seq;
}

}  // namespace keyledger::services

#include "services/app/workspace_service.hpp"

#include "domain/people/policy.hpp"
#include "infra/json/event_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"

namespace keyledger::services {

workspace_service::workspace_service(const key_service& keys, domain::random_source& random,
                                     const domain::clock& clock)
    : keys_(keys), random_(random), clock_(clock) {}

domain::workspace_state workspace_service::load(infra::event_store& store,
                                                std::string_view workspace_id) const {
  return fold_stream<domain::workspace_state>(store, domain::workspace_stream_id(workspace_id),
                                              infra::decode_workspace_event);
}

domain::result<changed_workspace, domain::rejection> workspace_service::update_settings(
    infra::event_store& store, domain::update_workspace_settings command,
    const request_context& ctx) const {
  command.now = clock_.now();
  auto done = execute(
      store, domain::workspace_stream_id(command.workspace_id), load(store, command.workspace_id),
      [&command](const domain::workspace_state& s) {
        return domain::decide(s, domain::workspace_command{command});
      },
      ctx, random_, command.now);
  if (!done) return done.error();
  return changed_workspace{std::move(done->state), done->position.last_seq};
}

domain::result<bootstrapped_workspace, domain::rejection> workspace_service::bootstrap(
    infra::event_store& store, const std::string& name, const std::string& key_prefix,
    const request_context& ctx, const domain::key_policy& policy,
    const std::vector<std::string>& scope_catalog,
    const std::function<std::string(const domain::workspace_state&)>& make_owner) const {
  const auto now = clock_.now();
  domain::workspace_state empty;
  domain::create_workspace command{
      domain::new_id("ws", random_), name, key_prefix, policy, scope_catalog, now};
  auto decision = domain::decide(empty, command);
  if (!decision) return decision.error();

  // The event id is a function of the name: the store's unique event id makes the name unique
  // without a second table, and a repeated bootstrap appends nothing.
  const auto& created = decision.value().front();
  const std::vector<infra::new_event> events{
      encode_event(created, derived_event_id("keyledger/workspace-name/" + name))};
  auto position = store.append(domain::workspace_stream_id(command.workspace_id), 0, events,
                               metadata_of(ctx), domain::to_micros(now));
  if (position.duplicate) return domain::rejection::workspace_already_exists;

  auto workspace = domain::evolve(empty, created);
  // The operator's first key must not lock the workspace out by expiring: it never expires
  // (docs/operations.md says to rotate it), whatever the policy says about other keys.
  create_key_input admin;
  admin.workspace_id = workspace.workspace_id;
  admin.key_prefix = workspace.key_prefix;
  admin.policy = workspace.policy;
  admin.policy.allow_no_expiry = true;
  admin.settings.name = "admin";
  admin.env = domain::environment::live;
  if (make_owner) {
    admin.owner_user_id = make_owner(workspace);
    admin.settings.scopes.assign(domain::management_scopes.begin(),
                                 domain::management_scopes.end());
  } else {
    admin.settings.scopes = {"keys:read", "keys:write"};
  }
  admin.expiry.never_expires = true;
  auto key = keys_.create(store, admin, ctx);
  if (!key) return key.error();
  return bootstrapped_workspace{std::move(workspace), std::move(key.value())};
}

}  // namespace keyledger::services

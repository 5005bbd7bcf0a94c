#pragma once

// Workspace commands: bootstrap (a workspace and its first admin key) and its settings.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/result.hpp"
#include "domain/workspace/workspace.hpp"
#include "infra/core/event_store.hpp"
#include "services/app/key_service.hpp"

namespace keyledger::services {

/// A workspace after a settings command; global_seq 0 when nothing changed.
struct changed_workspace {
  domain::workspace_state workspace;
  std::uint64_t global_seq = 0;
};

struct bootstrapped_workspace {
  domain::workspace_state workspace;
  created_key admin_key;
};

/// Command handlers for workspaces (command_executor.hpp). Thread-safe like key_service; runs on
/// blocking-pool threads with that thread's store.
class workspace_service {
 public:
  /// `keys` mints the first admin key of a bootstrapped workspace.
  workspace_service(const key_service& keys, domain::random_source& random,
                    const domain::clock& clock);

  /// The workspace's current state; exists == false if there is none.
  domain::workspace_state load(infra::event_store& store, std::string_view workspace_id) const;

  /// Workspace settings (key policy, scope catalog): WorkspaceSettingsChanged with only what
  /// differs, nothing if nothing does. `command.now` is set here. Not retried on a conflict
  /// (errc::conflict).
  domain::result<changed_workspace, domain::rejection> update_settings(
      infra::event_store& store, domain::update_workspace_settings command,
      const request_context& ctx) const;

  /// Creates a workspace and its first admin key. The workspace name is unique: the
  /// WorkspaceCreated event id is derived from it, so a second bootstrap of the same name
  /// appends nothing and is rejected with workspace_already_exists. `make_owner`, if given, is
  /// called once the workspace exists and returns the user id that owns the admin key (the
  /// workspace's first owner); the key then gets every management scope
  /// (domain::management_scopes). Without it the key is ownerless with keys:read keys:write.
  domain::result<bootstrapped_workspace, domain::rejection> bootstrap(
      infra::event_store& store, const std::string& name, const std::string& key_prefix,
      const request_context& ctx, const domain::key_policy& policy = {},
      const std::vector<std::string>& scope_catalog = {},
      const std::function<std::string(const domain::workspace_state&)>& make_owner = {}) const;

 private:
  const key_service& keys_;
  domain::random_source& random_;
  const domain::clock& clock_;
};

}  // namespace keyledger::services

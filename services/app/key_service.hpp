#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/api_key.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"
#include "domain/workspace.hpp"
#include "infra/core/event_store.hpp"
#include "infra/crypto/secret.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

/// Who asked, recorded as event metadata. Never a secret.
struct request_context {
  std::string actor;  ///< the authenticated key id, or "bootstrap"
  std::string request_id;
  std::string source_ip;
  std::string idempotency_key;
};

struct create_key_input {
  std::string workspace_id;
  std::string key_prefix;
  std::string name;
  domain::environment env = domain::environment::test;
  std::vector<std::string> scopes;
};

/// A newly created key. `key` is the secret: it leaves the process once, in the response.
struct created_key {
  infra::secret key;
  domain::api_key_state state;
  std::uint64_t global_seq = 0;
};

struct revoked_key {
  domain::api_key_state state;
  std::uint64_t global_seq = 0;  ///< 0 when it was already revoked (nothing appended)
};

struct bootstrapped_workspace {
  domain::workspace_state workspace;
  created_key admin_key;
};

/// Command handlers for keys and workspaces: load the stream, decide, append with the loaded
/// version as the expected one (retrying a conflict a few times with fresh state). Pure
/// orchestration: storage errors propagate as infra::error. Thread-safe (stateless apart from
/// its thread-safe collaborators); runs on blocking-pool threads with that thread's store.
class key_service {
 public:
  key_service(const infra::hmac_key_hasher& hasher, domain::random_source& random,
              const domain::clock& clock);

  domain::result<created_key, domain::rejection> create(infra::event_store& store,
                                                        const create_key_input& input,
                                                        const request_context& ctx) const;

  /// The key's current state; exists == false if there is no such key.
  domain::api_key_state load(infra::event_store& store, std::string_view key_id) const;

  /// Revokes the key of `workspace_id` (another workspace's key is key_not_found). Revoking a
  /// revoked key is not an error: it appends nothing.
  domain::result<revoked_key, domain::rejection> revoke(infra::event_store& store,
                                                        std::string_view key_id,
                                                        std::string_view workspace_id,
                                                        const request_context& ctx) const;

  /// Creates a workspace and its first admin key (scopes keys:read keys:write). The workspace
  /// name is unique: the WorkspaceCreated event id is derived from it, so a second bootstrap
  /// of the same name appends nothing and is rejected with workspace_already_exists.
  domain::result<bootstrapped_workspace, domain::rejection> bootstrap(
      infra::event_store& store, const std::string& name, const std::string& key_prefix,
      const request_context& ctx) const;

 private:
  const infra::hmac_key_hasher& hasher_;
  domain::random_source& random_;
  const domain::clock& clock_;
};

/// Key ids are "key_" + 22 base62 characters; anything else cannot name a key.
bool plausible_key_id(std::string_view id) noexcept;

}  // namespace keyledger::services

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/result.hpp"
#include "domain/types.hpp"
#include "domain/workspace/workspace.hpp"
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

/// Expiry as the client chose it (the domain's rules: domain::resolve_expiry).
using domain::expiry_choice;

struct create_key_input {
  std::string workspace_id;
  std::string key_prefix;
  domain::key_policy policy;
  /// The name is trimmed and the CIDRs normalised by key_service.
  domain::key_settings settings;
  domain::environment env = domain::environment::test;
  expiry_choice expiry;
  std::string owner_user_id;  ///< the user the key acts for ("" only for legacy callers)
};

/// PATCH: nullopt members are left as they are (the domain's one patch value).
using update_key_input = domain::key_settings_patch;

/// A newly created key. `key` is the secret: it leaves the process once, in the response.
struct created_key {
  infra::secret key;
  domain::api_key_state state;
  std::uint64_t global_seq = 0;
};

/// The key after a command; global_seq 0 when nothing was appended (no change).
struct changed_key {
  domain::api_key_state state;
  std::uint64_t global_seq = 0;
};

/// A rotation: the new key (secret inside) and the old key's new state.
struct rotated_key {
  created_key new_key;
  domain::api_key_state old_key;
};

struct revoked_key {
  domain::api_key_state state;
  std::uint64_t global_seq = 0;  ///< 0 when it was already revoked (nothing appended)
};

/// A key a leak report named, after the report: what was done (KeyLeaked.action), whether this
/// report had been recorded before (a retry: nothing appended), and where it was stored.
struct leaked_key {
  domain::api_key_state state;
  domain::leak_response action = domain::leak_response::none;
  bool repeated = false;         ///< this very report was recorded already: nothing appended
  std::uint64_t global_seq = 0;  ///< 0 when nothing was appended
};

/// Command handlers for keys (workspaces: workspace_service): load the stream, decide, append
/// with the loaded version as the expected one (command_executor.hpp). A command on an existing key
/// whose stream changed meanwhile is NOT retried: it fails with infra::error(errc::conflict) (409),
/// so of two concurrent commands on one key exactly one wins. Pure orchestration: storage errors
/// propagate as infra::error. Thread-safe (stateless apart from its thread-safe collaborators);
/// runs on blocking-pool threads with that thread's store.
class key_service {
 public:
  key_service(const infra::hmac_key_hasher& hasher, domain::random_source& random,
              const domain::clock& clock);

  domain::result<created_key, domain::rejection> create(infra::event_store& store,
                                                        const create_key_input& input,
                                                        const request_context& ctx) const;

  /// PATCH. Another workspace's key is key_not_found; revoked/expired keys are refused.
  domain::result<changed_key, domain::rejection> update(infra::event_store& store,
                                                        std::string_view key_id,
                                                        std::string_view workspace_id,
                                                        const domain::key_policy& policy,
                                                        const update_key_input& input,
                                                        const request_context& ctx) const;

  /// Rotation: KeyRotated (old) + KeyCreated (new) in one transaction (event_store::append_all).
  /// Like update and revoke: when the append conflicts with notices alone (an expiry warning
  /// appended by a background job, domain::is_notice) the command is decided again on the newer
  /// state; any other conflict propagates as errc::conflict (of two people, one wins).
  domain::result<rotated_key, domain::rejection> rotate(
      infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
      std::string_view key_prefix, const domain::key_policy& policy,
      std::chrono::seconds grace_period, const request_context& ctx) const;

  /// Background job: appends KeyExpired / KeyExpiryApproaching when due, with an event id
  /// derived from (key, kind, expires_at), so racing nodes append it once. Returns the number
  /// of events appended (0 if nothing was due, or another node was first).
  std::size_t record_expiry(infra::event_store& store, std::string_view key_id) const;

  /// A signed leak report named this key (domain::report_leak): KeyLeaked, plus KeyRevoked or
  /// KeyDisabled per `on_leak` when the key still worked, in one append. The events' ids are
  /// derived from (key, `report_id`), so the same report delivered again (a reporter's retry,
  /// two nodes) appends nothing (repeated). A concurrent command on the key is not allowed to
  /// keep a leaked key alive: on a conflict the command is decided again, up to a few times,
  /// before errc::conflict propagates. Refuses key_not_found and invalid_leak_report.
  domain::result<leaked_key, domain::rejection> report_leak(infra::event_store& store,
                                                            std::string_view key_id,
                                                            const domain::report_leak& command,
                                                            std::string_view report_id,
                                                            const request_context& ctx) const;

  /// The key's current state; exists == false if there is no such key.
  domain::api_key_state load(infra::event_store& store, std::string_view key_id) const;

  /// Revokes the key of `workspace_id` (another workspace's key is key_not_found). Revoking a
  /// revoked key is not an error: it appends nothing.
  domain::result<revoked_key, domain::rejection> revoke(infra::event_store& store,
                                                        std::string_view key_id,
                                                        std::string_view workspace_id,
                                                        const request_context& ctx) const;

 private:
  /// One load-decide-append of rotate; `loaded_version` is the version it decided on.
  domain::result<rotated_key, domain::rejection> rotate_once(
      infra::event_store& store, std::string_view key_id, std::string_view workspace_id,
      std::string_view key_prefix, const domain::key_policy& policy,
      std::chrono::seconds grace_period, const request_context& ctx, domain::timestamp now,
      std::uint64_t& loaded_version) const;

  const infra::hmac_key_hasher& hasher_;
  domain::random_source& random_;
  const domain::clock& clock_;
};

/// Key ids are "key_" + 22 base62 characters; anything else cannot name a key.
bool plausible_key_id(std::string_view id) noexcept;

}  // namespace keyledger::services

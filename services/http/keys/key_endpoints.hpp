#pragma once

// Internal to services/http/keys: the key endpoints and what their files share.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "infra/json/json.hpp"
#include "services/app/key_json.hpp"
#include "services/app/key_service.hpp"
#include "services/http/keys/key_routes.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {

// The key object's writer and what it needs of the owner: services/app/key_json.hpp.
using services::key_standing;
using services::write_key_fields;

/// Reads and checks the shared settings of a create or PATCH body; answers 4xx itself.
bool read_settings(const call& c, const infra::json_body& body, const workspace_entry& ws,
                   domain::key_settings_patch& out);

/// The `limit` query parameter, from 1 to 100 (`fallback` when absent); answers 400 itself.
std::optional<std::size_t> page_limit(const call& c, std::size_t fallback);

infra::http_response key_object(const domain::api_key_state& k, const key_standing& standing,
                                domain::timestamp now, const infra::last_use* last,
                                unsigned status = 200);

/// The answer to create and rotate: the new key with its secret, shown this once.
infra::http_response created_response(const created_key& created, const key_standing& standing,
                                      domain::timestamp now);

const infra::last_use* find_use(const std::vector<infra::last_use>& uses, std::string_view id);

/// A page of `view`'s list for `q`; with `only_owner` set, only that user's keys (a member's
/// list), paged the same way.
key_page visible_page(const active_key_view& view, const key_query& q,
                      const std::string& only_owner);

/// {"data":[key objects],"next_cursor":...}, statuses evaluated at `now`.
infra::http_response key_list_response(const key_page& page, domain::timestamp now,
                                       const std::vector<infra::last_use>& uses);

/// The `as_of` query parameter: `out` stays empty when absent. Answers 400 itself (and returns
/// false) for a time that is not RFC 3339 or lies after now.
bool read_as_of(const call& c, const domain::clock& clock, std::optional<domain::timestamp>& out);

class key_endpoints {
 public:
  explicit key_endpoints(key_routes_dependencies deps) : d_(std::move(deps)), run_(d_.run) {}

  void create_key(call& c);
  void list_keys(call& c);
  void get_key(call& c);
  void update_key(call& c);
  void rotate_key(call& c);
  void revoke_key(call& c);
  void get_self(call& c);
  // key_logs.cpp
  void key_requests(call& c);
  void auth_failures(call& c);
  // key_history.cpp
  void key_history(call& c);

 private:
  // key_as_of.cpp: the list and the key as they were at `as_of` (already checked).
  void list_keys_as_of(call& c, key_query q, std::string only_owner, domain::timestamp as_of);
  void get_key_as_of(call& c, domain::timestamp as_of);
  bool read_as_of(const call& c, std::optional<domain::timestamp>& out) const {
    return http::read_as_of(c, d_.clock, out);
  }

  /// The key's standing from the directory and the workspace's catalog (as the key view
  /// computes it).
  key_standing standing_of(const domain::api_key_state& k, const workspace_entry& ws) const;
  /// Last uses of these keys (telemetry).
  std::vector<infra::last_use> last_uses(std::size_t worker,
                                         std::span<const std::string> ids) const;

  key_routes_dependencies d_;
  const runner& run_;
};

}  // namespace keyledger::services::http

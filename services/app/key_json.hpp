#pragma once

// The key object of docs/api.md ("The key object") as JSON: one writer for every front door
// that shows a key (the HTTP API, `keyledger audit replay`), so that they cannot drift apart.

#include <string>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "infra/core/telemetry_store.hpp"
#include "infra/json/json.hpp"

namespace keyledger::services {

/// What a key's owner allows it: effective scopes and whether the owner was removed (as the
/// key view computes them, key_entry).
struct key_standing {
  std::vector<std::string> effective_scopes;
  bool owner_removed = false;
};

/// Writes the key object's members into an open object of `w` (the caller closes it, so that
/// create and rotate can add "key"). `now`: the instant the status is evaluated at. `last`: the
/// key's last use, or null (then last_used_at and last_used_ip are null).
void write_key_fields(infra::json_writer& w, const domain::api_key_state& k,
                      const key_standing& standing, domain::timestamp now,
                      const infra::last_use* last);

}  // namespace keyledger::services

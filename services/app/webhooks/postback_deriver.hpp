#pragma once

// Which postbacks one log event makes (issue 10): its postback type (domain::webhooks::
// postback_type_of), the endpoints of the workspace that receive that type, the key's own
// postback URL for a key event, and the exact body every attempt sends. Called by the
// dispatcher in the node's fan-out AFTER the views have applied the event, so what the body
// says is the state right after the event (the same on every node, on every replay). Bodies
// carry ids and settings, never a key hash, a secret or a postback URL. docs/webhooks.md.

#include <vector>

#include "infra/core/event_store.hpp"
#include "infra/core/webhook_store.hpp"

namespace keyledger::services {

class active_key_view;
class webhook_endpoint_view;
class oauth_client_view;
class oauth_grant_view;

struct postback_sources {
  const active_key_view& keys;
  const webhook_endpoint_view& endpoints;
  const oauth_client_view& clients;
  const oauth_grant_view& grants;
};

/// The message id of (event, endpoint): "msg_" + 22 base62 derived from both, so every node
/// derives the same id for the same delivery.
std::string postback_message_id(const infra::uuid& event_id, std::string_view endpoint_id);

/// The deliveries `e` makes, due at the event's time; none for an event that is not a postback
/// or that nobody receives. A key event goes to the receivers of its workspace and, when the
/// key has a postback URL, to the key itself (endpoint id = the key id); an OAuth client event
/// to the client's workspace; oauth.grant.revoked to the client's workspace and to the
/// workspace the grant was for.
std::vector<infra::new_delivery> derive_postbacks(const infra::recorded_event& e,
                                                  const postback_sources& sources);

}  // namespace keyledger::services

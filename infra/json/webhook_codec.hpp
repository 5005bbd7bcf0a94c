#pragma once

// Payloads of the webhook endpoint events (domain/webhooks/endpoint.hpp), same rules as
// infra/json/event_codec.hpp: one JSON object per event, snake_case members in a fixed order
// (the log hash-chains the exact bytes), timestamps as RFC 3339 strings. WebhookEndpointUpdated
// writes only the members that changed. No secret in any of them. Formats: docs/webhooks.md.

#include <optional>
#include <string>
#include <string_view>

#include "domain/webhooks/endpoint.hpp"

namespace keyledger::infra {

/// Deterministic: the same event always encodes to the same bytes.
std::string encode_payload(const domain::webhooks::endpoint_event& e);

/// nullopt for a type the endpoint stream does not hold or a payload that does not decode.
/// Never throws.
std::optional<domain::webhooks::endpoint_event> decode_endpoint_event(std::string_view type,
                                                                      std::string_view payload);

}  // namespace keyledger::infra

#pragma once

// Payloads of the OAuth client events (domain/oauth/client.hpp), same rules as
// infra/json/event_codec.hpp: one JSON object per event, snake_case members in a fixed order
// (the log hash-chains the exact bytes), timestamps as RFC 3339 strings, lifetimes in whole
// seconds. ClientUpdated writes only the members that changed. Formats: docs/oauth.md.

#include <optional>
#include <string>
#include <string_view>

#include "domain/oauth/client.hpp"

namespace keyledger::infra {

/// Deterministic: the same event always encodes to the same bytes.
std::string encode_payload(const domain::oauth::client_event& e);

/// nullopt for a type the client stream does not hold or a payload that does not decode (as
/// decode_user_event). Never throws.
std::optional<domain::oauth::client_event> decode_client_event(std::string_view type,
                                                               std::string_view payload);

}  // namespace keyledger::infra

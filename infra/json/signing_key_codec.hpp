#pragma once

// Payloads of the signing key events (domain/oauth/signing_keys.hpp), same rules as
// infra/json/oauth_codec.hpp: one JSON object per event, snake_case members in a fixed order
// (the log hash-chains the exact bytes), timestamps as RFC 3339 strings. SigningKeyCreated
// carries the public JWK as a JSON string holding the JWK's text (byte for byte what the key
// made), never a private member. Formats: docs/oauth.md, "Signing keys".

#include <optional>
#include <string>
#include <string_view>

#include "domain/oauth/signing_keys.hpp"

namespace keyledger::infra {

/// Deterministic: the same event always encodes to the same bytes.
std::string encode_payload(const domain::oauth::signing_key_event& e);

/// nullopt for a type the signing key stream does not hold or a payload that does not decode
/// (a member missing, of the wrong type, or an unparsable time). Never throws.
std::optional<domain::oauth::signing_key_event> decode_signing_key_event(std::string_view type,
                                                                         std::string_view payload);

}  // namespace keyledger::infra

#pragma once

// Payloads of the OAuth grant events (domain/oauth/grant.hpp), same rules as
// infra/json/event_codec.hpp: one JSON object per event, snake_case members in a fixed order
// (the log hash-chains the exact bytes), timestamps as RFC 3339 strings, a family's end as its
// lowercase name, "no resource" and "no refresh token" as null. Only keyed hashes of codes and
// refresh tokens, never the secrets. Formats: docs/oauth.md ("Grants, codes and refresh
// families").

#include <optional>
#include <string>
#include <string_view>

#include "domain/oauth/grant.hpp"

namespace keyledger::infra {

/// Deterministic: the same event always encodes to the same bytes.
std::string encode_payload(const domain::oauth::grant_event& e);

/// nullopt for a type the grant stream does not hold or a payload that does not decode: not
/// exactly one JSON object, or a member the type defines that is missing, repeated, of the wrong
/// JSON type (null only where documented), or with a value that does not parse (timestamp,
/// family end). Members a type does not define are ignored (docs/events.md, a newer writer may
/// add some). Values are not re-validated (an event is a fact). Never throws.
std::optional<domain::oauth::grant_event> decode_grant_event(std::string_view type,
                                                             std::string_view payload);

}  // namespace keyledger::infra

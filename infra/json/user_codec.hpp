#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/people/user.hpp"

// Payloads of the user and membership events (domain/people/user.hpp), same rules as
// infra/json/event_codec.hpp: JSON objects with snake_case members in a fixed order (the log
// hash-chains the exact bytes), timestamps as RFC 3339 strings, roles as their lowercase names.
// Formats: docs/users-and-roles.md.

namespace keyledger::infra {

/// Deterministic: the same event always encodes to the same bytes.
std::string encode_payload(const domain::user_event& e);
std::string encode_payload(const domain::member_event& e);

/// nullopt for a type these streams do not hold, or a payload that does not decode: not exactly
/// one JSON object (valid UTF-8, no NUL, nothing after it), or a member the type defines that
/// is missing, repeated, of the wrong JSON type, or with a value that does not parse (timestamp,
/// role). Members a type does not define are ignored (a newer writer may add some). Values are
/// not re-validated (an event is a fact, decoded as written). Never throws.
std::optional<domain::user_event> decode_user_event(std::string_view type,
                                                    std::string_view payload);
std::optional<domain::member_event> decode_member_event(std::string_view type,
                                                        std::string_view payload);

}  // namespace keyledger::infra

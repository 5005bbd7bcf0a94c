#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/keys/api_key.hpp"
#include "domain/workspace/workspace.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// Event payloads are JSON objects with snake_case members; timestamps as RFC 3339 strings
/// (domain::format_timestamp). The exact formats are documented in docs/events.md.
std::string encode_payload(const domain::api_key_event& e);
std::string encode_payload(const domain::workspace_event& e);

/// nullopt for another type or a payload that does not decode (never throws).
std::optional<domain::api_key_event> decode_api_key_event(std::string_view type,
                                                          std::string_view payload);
/// A KeyCreated payload into `out` (its storage reused, for a caller that decodes many): the
/// result decode_api_key_event("KeyCreated", payload) would hold. false when it does not decode
/// (never throws); `out` must then not be used.
bool decode_key_created_into(std::string_view payload, domain::key_created& out) noexcept;
std::optional<domain::workspace_event> decode_workspace_event(std::string_view type,
                                                              std::string_view payload);

/// {"actor":..,"request_id":..,"source_ip":..,"idempotency_key":..}; empty members omitted.
std::string encode_metadata(const event_metadata& m);

/// The metadata a stored event carries, back from its text (docs/events.md, "Metadata"): an
/// absent member is "". Tolerant like the payload decoders: members it does not know are
/// ignored. nullopt when the text is not one JSON object or a known member is not a string
/// (never throws).
std::optional<event_metadata> decode_metadata(std::string_view text);

}  // namespace keyledger::infra

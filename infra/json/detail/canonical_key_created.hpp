#pragma once

#include <optional>
#include <string_view>

#include "domain/keys/api_key.hpp"

// Private to infra/json: the fast path of KeyCreated decoding (a start-up decodes one per key of
// the log). No RapidJSON here: the scan reads the text itself.

namespace keyledger::infra::detail {

/// A KeyCreated payload in the form the encoder writes (event_codec.cpp): every member in its
/// order, owner_user_id last and optional, nothing between the tokens, each string printable
/// ASCII with no escape, numbers as plain digits. Decoded by one scan of the text instead of a
/// DOM. nullopt for anything else - a space, another order, an escape, a non-ASCII byte, an
/// unknown member, a value that does not parse - and then the caller decodes the payload with
/// RapidJSON (decode_key_created_with_dom), which decides. For every payload it accepts the
/// result is the one decode_key_created_with_dom gives (tests/unit/infra/json).
std::optional<domain::key_created> decode_canonical_key_created(std::string_view payload);

/// The same into `out`, whose strings' and vectors' storage is reused (a start-up decodes a
/// million of them into one). true when it decoded; on false `out` holds a mixture and must
/// not be used (decode it again).
bool decode_canonical_key_created_into(std::string_view payload, domain::key_created& out);

/// The general decoding of a KeyCreated payload: RapidJSON's DOM and field_reader (any member
/// order, whitespace, escapes, older payloads without the later members). nullopt when it does
/// not decode.
std::optional<domain::key_created> decode_key_created_with_dom(std::string_view payload);

}  // namespace keyledger::infra::detail

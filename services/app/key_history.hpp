#pragma once

// A key's history for a person (issue 9, GET /v1/keys/{id}/history): every event of the key and
// of its rotation chain, in global order, each with who, when, from where and a sentence.
// Events hold no secret (docs/events.md), and nothing here adds one: the sentences are made
// from the payload's settings and ids only.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {

/// One event of a key's history.
struct key_history_entry {
  std::uint64_t global_seq = 0;
  std::string key_id;  ///< whose stream: the key asked about or another key of its chain
  std::uint64_t version = 0;
  std::string type;
  domain::timestamp recorded_at{};
  infra::event_metadata metadata;  ///< actor, request id, source IP as stored
  std::string acting_for;          ///< the actor is a key: the user it acts for ("" unknown)
  std::string text;                ///< a sentence, e.g. "Revoked by usr_… with key key_…."
};

struct key_history {
  /// The key asked about, folded from its stream (exists == false: no such key).
  domain::api_key_state key;
  /// The ids of the rotation chain, the key included, oldest first.
  std::vector<std::string> chain;
  /// Every event of the chain's streams, in global order.
  std::vector<key_history_entry> entries;
};

/// Reads the streams of `key_id` and of every key it was rotated from or to, transitively,
/// within its workspace: one read_streams_until for the chain `view` knows, one more for each
/// link only the log shows (a rotation the view has not applied yet). `view` also names the
/// owner of an acting key. Pool thread only. Storage errors propagate as infra::error; an
/// event that does not decode is shown by its type, never stops the history.
key_history load_key_history(infra::event_store& store, std::string_view key_id,
                             const active_key_view& view);

/// Who did it, for a sentence: a user id as it is; a key as "key key_…" (with its owner
/// before, "usr_… with key key_…", when known); the server's own jobs by name ("the expiry
/// job"); nothing recorded as "an unrecorded actor".
std::string actor_phrase(std::string_view actor, std::string_view acting_for);

/// The sentence for `event` applied to `before` (the key's state just before it), done by
/// `actor` (an actor_phrase). Pure.
std::string describe_key_event(const domain::api_key_state& before,
                               const domain::api_key_event& event, std::string_view actor);

}  // namespace keyledger::services

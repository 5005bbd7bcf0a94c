#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/core/event_store.hpp"
#include "services/app/key_service.hpp"

namespace keyledger::services {

// What every command handler does with the event store, in one place.

/// An event id that is a function of `name` (an RFC 9562 version-8 UUID from SHA-256): the
/// store keeps one event per id, so writers deriving the same id (a repeated bootstrap, two
/// registrations of one email, two nodes recording one expiry) append it once.
infra::uuid derived_event_id(std::string_view name);

/// Event metadata of a request.
infra::event_metadata metadata_of(const request_context& ctx);

/// Folds a stream from its first event: `decode(type, payload)` returns an optional domain
/// event, `domain::evolve` folds it. An event that does not decode is a storage error (the log
/// is the truth; a command must not decide on a partial state).
template <class State, class Decode>
State fold_stream(infra::event_store& store, std::string_view stream_id, Decode decode) {
  State state;
  for (const auto& recorded : store.read_stream(stream_id)) {
    auto event = decode(recorded.type, recorded.payload);
    if (!event) {
      throw infra::error(infra::errc::storage,
                         "undecodable event at global_seq " + std::to_string(recorded.global_seq));
    }
    state = evolve(std::move(state), *event);
  }
  return state;
}

}  // namespace keyledger::services

#pragma once

// The one sequence every command handler runs against the log: load the stream's state,
// decide, encode the decided events, append them with the loaded version as the expected one,
// fold them into the state. (Awaiting this node's view is the caller's last step: the HTTP
// runner waits for `position.last_seq` before answering.)

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/json/event_codec.hpp"
#include "services/app/event_sourcing.hpp"

namespace keyledger::services {

/// A command's outcome on one stream: the state after it, and where its events were stored
/// (position.last_seq == 0: the decision was to append nothing).
template <class State>
struct executed {
  State state;
  infra::append_result position;
};

/// A domain event as the store keeps it: its type, its payload, the given id.
template <class Event>
infra::new_event encode_event(const Event& e, infra::uuid id) {
  // Unqualified: each aggregate's event_type is found next to its events (domain, domain::oauth).
  using domain::event_type;
  return {id, std::string(event_type(e)), infra::encode_payload(e)};
}

/// Domain events as the store keeps them, each with a fresh random id.
template <class Event>
std::vector<infra::new_event> encode_events(const std::vector<Event>& events,
                                            domain::random_source& random) {
  std::vector<infra::new_event> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(encode_event(e, domain::new_uuid(random)));
  return out;
}

/// Runs `decide(state)` (-> domain::result<std::vector<Event>, Rejection>) and appends what it
/// decided to `stream_id` after `state` (expected version = state.version). Not retried on a
/// conflict: a command decided against a state that changed meanwhile is refused
/// (infra::error errc::conflict), so of two concurrent commands on one stream exactly one wins.
/// Storage errors propagate as infra::error.
template <class State, class Decide>
auto execute(infra::event_store& store, std::string_view stream_id, State state, Decide&& decide,
             const request_context& ctx, domain::random_source& random, domain::timestamp now)
    -> domain::result<executed<State>,
                      std::decay_t<decltype(decide(std::declval<const State&>()).error())>> {
  auto decision = decide(std::as_const(state));
  if (!decision) return decision.error();
  if (decision->empty()) return executed<State>{std::move(state), {}};
  const auto expected_version = state.version;
  const auto events = encode_events(decision.value(), random);
  using domain::evolve;  // and each aggregate's evolve next to its state
  for (const auto& e : decision.value()) state = evolve(std::move(state), e);
  auto position =
      store.append(stream_id, expected_version, events, metadata_of(ctx), domain::to_micros(now));
  return executed<State>{std::move(state), position};
}

}  // namespace keyledger::services

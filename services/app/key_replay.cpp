// The key view at an instant: which events count, and the live view's own folding over them.
#include "services/app/key_replay.hpp"

#include "domain/keys/api_key.hpp"
#include "domain/people/user.hpp"
#include "domain/workspace/workspace.hpp"

namespace keyledger::services {

instant_filter::verdict instant_filter::admit(const infra::recorded_event& e) {
  auto& s = streams_[e.stream_id];
  if (s.closed != verdict::admitted) return s.closed;
  if (e.recorded_at_us > as_of_us_) {
    s.closed = verdict::after_instant;
  } else if (e.version != s.version + 1) {
    // Recorded in time but its predecessor is not there: folding on would invent a state the
    // key never had.
    s.closed = verdict::incomplete;
    incomplete_.push_back(e.stream_id);
  } else {
    s.version = e.version;
    return verdict::admitted;
  }
  return s.closed;
}

std::unique_ptr<active_key_view> view_at(std::span<const infra::recorded_event> events,
                                         instant_filter& filter) {
  auto view = std::make_unique<active_key_view>();
  for (const auto& e : events) {
    if (filter.admit(e) == instant_filter::verdict::admitted) view->apply(e);
  }
  return view;
}

std::vector<std::string> workspace_streams(std::string_view workspace_id,
                                           std::span<const std::string> key_ids) {
  std::vector<std::string> streams;
  streams.reserve(key_ids.size() + 2);
  streams.push_back(domain::workspace_stream_id(workspace_id));
  streams.push_back(domain::members_stream_id(workspace_id));
  for (const auto& id : key_ids) streams.push_back(domain::key_stream_id(id));
  return streams;
}

std::unique_ptr<active_key_view> workspace_at(infra::event_store& store,
                                              std::string_view workspace_id,
                                              std::span<const std::string> key_ids,
                                              domain::timestamp as_of) {
  const auto events =
      store.read_streams_until(workspace_streams(workspace_id, key_ids), domain::to_micros(as_of));
  instant_filter filter(as_of);
  return view_at(events, filter);
}

}  // namespace keyledger::services

#pragma once

// The key view as it was at an instant (issue 9, "Replay to any instant"): the log's events
// recorded at or before the instant, folded by the very code the live view runs
// (active_key_view::apply: domain::evolve for the keys, the owner's role and the workspace's
// catalog of that time for the effective scopes). Used by GET /v1/keys?as_of= (from the store)
// and `keyledger audit replay` (from an export file, offline). docs/api.md, "Reading the past".

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {

/// Which events belong to the log as it was at `as_of`: those recorded at or before it, each
/// stream only up to its first event that is not (writers' clocks may disagree a little, and a
/// stream's past never has a hole: version N+1 is not applied without version N). Feed it every
/// event of the streams of interest, in global order. Not thread-safe.
class instant_filter {
 public:
  /// Why an event was, or was not, admitted.
  enum class verdict {
    admitted,
    after_instant,  ///< recorded after as_of, or after such an event of its stream
    incomplete,     ///< its stream lacks the version before it (a missing event), or follows one
  };

  explicit instant_filter(domain::timestamp as_of) : as_of_us_(domain::to_micros(as_of)) {}

  verdict admit(const infra::recorded_event& e);

  /// Streams cut short because an event was missing (verdict::incomplete), in the order met.
  const std::vector<std::string>& incomplete_streams() const noexcept { return incomplete_; }

 private:
  struct stream_position {
    std::uint64_t version = 0;           ///< the last admitted version (0: none yet)
    verdict closed = verdict::admitted;  ///< admitted: still open
  };
  std::int64_t as_of_us_;
  std::unordered_map<std::string, stream_position> streams_;
  std::vector<std::string> incomplete_;
};

/// A fresh key view fed with what `filter` admits of `events` (global order). The view answers
/// list() and find_by_id() for the instant; evaluate statuses at the same instant.
std::unique_ptr<active_key_view> view_at(std::span<const infra::recorded_event> events,
                                         instant_filter& filter);

/// The streams one workspace's key view is folded from: the workspace, its membership (roles:
/// effective scopes) and each of `key_ids`.
std::vector<std::string> workspace_streams(std::string_view workspace_id,
                                           std::span<const std::string> key_ids);

/// One workspace's key view at `as_of`, read from `store` with one read_streams_until of the
/// workspace's streams and `key_ids` (the keys it may hold at as_of: every key the live view has
/// of the workspace created by then; a key is never dropped from the live view, so none is
/// missed). The workspace did not exist yet when the view's find_workspace() finds nothing.
/// Runs on a pool thread (it reads the store). Storage errors propagate as infra::error.
std::unique_ptr<active_key_view> workspace_at(infra::event_store& store,
                                              std::string_view workspace_id,
                                              std::span<const std::string> key_ids,
                                              domain::timestamp as_of);

}  // namespace keyledger::services

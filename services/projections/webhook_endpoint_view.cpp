#include "services/projections/webhook_endpoint_view.hpp"

#include <algorithm>
#include <mutex>
#include <variant>

#include "infra/core/log.hpp"
#include "infra/json/webhook_codec.hpp"

namespace keyledger::services {

namespace wh = domain::webhooks;

std::span<const std::string_view> webhook_endpoint_view::categories() const noexcept {
  static constexpr std::string_view endpoints[] = {wh::endpoint_category};
  return endpoints;
}

void webhook_endpoint_view::apply(const infra::recorded_event& e) {
  const auto decoded = infra::decode_endpoint_event(e.type, e.payload);
  bool applied = false;
  if (decoded) {
    const std::string& id =
        std::visit([](const auto& alt) -> const std::string& { return alt.endpoint_id; }, *decoded);
    if (e.stream_id.empty() || e.stream_id == wh::endpoint_stream_id(id)) {
      std::unique_lock lock(mutex_);
      const bool creation = std::holds_alternative<wh::endpoint_created>(*decoded);
      auto it = endpoints_.find(id);
      if (creation && it == endpoints_.end()) {
        auto state = wh::evolve({}, *decoded);
        by_workspace_[state.workspace_id].push_back(id);
        endpoints_.emplace(id, std::move(state));
        applied = true;
      } else if (!creation && it != endpoints_.end()) {
        it->second = wh::evolve(std::move(it->second), *decoded);
        if (it->second.deleted) {
          auto& ids = by_workspace_[it->second.workspace_id];
          ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
        }
        applied = true;
      }
    }
  }
  if (!applied) {
    // Type and position only: a payload is no business of the log.
    infra::log(infra::log_level::error, "webhook_endpoint_view_skipped_event",
               {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
  }
}

std::optional<wh::endpoint_state> webhook_endpoint_view::find(std::string_view endpoint_id) const {
  std::shared_lock lock(mutex_);
  const auto it = endpoints_.find(std::string(endpoint_id));
  if (it == endpoints_.end()) return std::nullopt;
  return it->second;
}

std::vector<wh::endpoint_state> webhook_endpoint_view::of_workspace(
    std::string_view workspace_id) const {
  std::vector<wh::endpoint_state> out;
  {
    std::shared_lock lock(mutex_);
    const auto ids = by_workspace_.find(std::string(workspace_id));
    if (ids == by_workspace_.end()) return out;
    for (const auto& id : ids->second) out.push_back(endpoints_.at(id));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.endpoint_id < b.endpoint_id; });
  return out;
}

std::vector<wh::endpoint_state> webhook_endpoint_view::receivers(std::string_view workspace_id,
                                                                 std::string_view type) const {
  std::vector<wh::endpoint_state> out;
  std::shared_lock lock(mutex_);
  const auto ids = by_workspace_.find(std::string(workspace_id));
  if (ids == by_workspace_.end()) return out;
  for (const auto& id : ids->second) {
    const auto& s = endpoints_.at(id);
    if (s.receives(type)) out.push_back(s);
  }
  return out;
}

}  // namespace keyledger::services

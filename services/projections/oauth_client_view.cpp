#include "services/projections/oauth_client_view.hpp"

#include <algorithm>
#include <mutex>
#include <variant>

#include "infra/core/log.hpp"
#include "infra/json/oauth_codec.hpp"

namespace keyledger::services {

namespace oauth = domain::oauth;

std::span<const std::string_view> oauth_client_view::categories() const noexcept {
  static constexpr std::string_view clients[] = {"oauth_client"};
  return clients;
}

void oauth_client_view::apply(const infra::recorded_event& e) {
  const auto decoded = infra::decode_client_event(e.type, e.payload);
  bool applied = false;
  if (decoded) {
    const std::string& client_id =
        std::visit([](const auto& alt) -> const std::string& { return alt.client_id; }, *decoded);
    // A payload naming another client than its stream is not applied (events fed without a
    // stream id, as in some tests, are taken at their word).
    if (e.stream_id.empty() || e.stream_id == oauth::client_stream_id(client_id)) {
      std::unique_lock lock(mutex_);
      const bool registration = std::holds_alternative<oauth::client_registered>(*decoded);
      auto it = clients_.find(client_id);
      if (registration && it == clients_.end()) {
        clients_.emplace(client_id,
                         std::make_shared<const oauth::client_state>(oauth::evolve({}, *decoded)));
        applied = true;
      } else if (!registration && it != clients_.end()) {
        it->second = std::make_shared<const oauth::client_state>(
            oauth::evolve(oauth::client_state(*it->second), *decoded));
        applied = true;
      }
    }
  }
  if (!applied) {
    // Type and position only: a payload is no business of the log.
    infra::log(infra::log_level::error, "oauth_client_view_skipped_event",
               {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
  }
}

std::shared_ptr<const oauth::client_state> oauth_client_view::find(
    std::string_view client_id) const {
  std::shared_lock lock(mutex_);
  const auto it = clients_.find(client_id);
  if (it == clients_.end()) return nullptr;
  return it->second;
}

std::vector<oauth::client_state> oauth_client_view::of_workspace(
    std::string_view workspace_id) const {
  std::vector<oauth::client_state> out;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, c] : clients_) {
      if (c->workspace_id == workspace_id && !c->deleted) out.push_back(*c);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.client_id < b.client_id; });
  return out;
}

}  // namespace keyledger::services

#pragma once

// The webhook endpoints in memory (issue 10): every endpoint's state folded from its stream, so
// that the dispatcher knows, for each event as it is applied, which endpoints receive it, and
// the management API lists a workspace's endpoints. Fed by the node's subscription (category
// webhook_endpoint) before the key view, so once active_key_view::wait_applied(seq) returns,
// this view has seq too. Thread-safe: one writer, many readers.

#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/webhooks/endpoint.hpp"
#include "infra/core/event_log/consumer.hpp"

namespace keyledger::services {

class webhook_endpoint_view final : public infra::log_consumer {
 public:
  std::string_view name() const noexcept override { return "webhook_endpoint_view"; }
  std::span<const std::string_view> categories() const noexcept override;

  /// Folds one endpoint event (undecodable events, events of an unknown endpoint and events
  /// whose payload names another endpoint than the stream are logged and skipped).
  void apply(const infra::recorded_event& e) override;

  /// The endpoint, deleted ones included; nullopt when never created.
  std::optional<domain::webhooks::endpoint_state> find(std::string_view endpoint_id) const;
  /// A workspace's endpoints that are not deleted, ordered by endpoint id.
  std::vector<domain::webhooks::endpoint_state> of_workspace(std::string_view workspace_id) const;
  /// A workspace's endpoints that receive postbacks of `type` now.
  std::vector<domain::webhooks::endpoint_state> receivers(std::string_view workspace_id,
                                                          std::string_view type) const;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, domain::webhooks::endpoint_state> endpoints_;
  /// workspace id -> its endpoint ids (deleted ones dropped), for the dispatcher's lookups.
  std::unordered_map<std::string, std::vector<std::string>> by_workspace_;
};

}  // namespace keyledger::services

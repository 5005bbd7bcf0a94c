#pragma once

// The OAuth clients in memory (issue 8): every client's state folded from its stream, so that
// the token and introspection endpoints authenticate a client without a database round trip,
// and the management API lists a workspace's clients. Fed by the node's subscription (category
// oauth_client) before the key view, so once active_key_view::wait_applied(seq) returns, this
// view has seq too. Thread-safe: one writer, many readers.

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/oauth/client.hpp"
#include "infra/core/event_log/consumer.hpp"

namespace keyledger::services {

class oauth_client_view final : public infra::log_consumer {
 public:
  std::string_view name() const noexcept override { return "oauth_client_view"; }
  /// The stream category of domain::oauth::client_stream_id.
  std::span<const std::string_view> categories() const noexcept override;

  /// Folds one client event into its client (undecodable events, events of an unknown client
  /// and events whose payload names another client than the stream are logged and skipped).
  void apply(const infra::recorded_event& e) override;

  /// The client, deleted ones included (state.deleted); null when never registered. The state
  /// is immutable and shared: an event replaces it, so a caller's copy of the pointer keeps the
  /// state it read (no copy of the client per token request).
  std::shared_ptr<const domain::oauth::client_state> find(std::string_view client_id) const;
  /// A workspace's clients that are not deleted, ordered by client id.
  std::vector<domain::oauth::client_state> of_workspace(std::string_view workspace_id) const;

 private:
  struct id_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const domain::oauth::client_state>, id_hash,
                     std::equal_to<>>
      clients_;
};

}  // namespace keyledger::services

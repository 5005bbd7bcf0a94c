#pragma once

// The OAuth grants in memory (issue 8): every grant folded from its stream, the refresh
// families by id, and the denylist of revoked access tokens - what introspection, the
// remembered consent and "apps I authorized" read without a database round trip. Fed by the
// node's subscription (categories oauth_grant and oauth_access_token) before the key view, so
// once active_key_view::wait_applied(seq) returns, this view has seq too. Thread-safe: one
// writer, many readers.

#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/oauth/grant.hpp"
#include "infra/core/event_log/consumer.hpp"

namespace keyledger::services {

class oauth_grant_view final : public infra::log_consumer {
 public:
  std::string_view name() const noexcept override { return "oauth_grant_view"; }
  std::span<const std::string_view> categories() const noexcept override;

  /// Folds a grant event into its grant, or records a revoked access token (undecodable events
  /// and events of an unknown grant are logged and skipped). Denylist entries whose token has
  /// expired are forgotten as time passes.
  void apply(const infra::recorded_event& e) override;

  std::optional<domain::oauth::grant_state> grant(std::string_view grant_id) const;
  /// The grant a family belongs to; nullopt for an unknown family.
  std::optional<domain::oauth::grant_state> grant_of_family(std::string_view family_id) const;
  /// Whether the family's tokens were cut off (the family ended, or its grant was revoked).
  /// An unknown family counts as ended.
  bool family_ended(std::string_view family_id) const;
  /// Whether the access token `jti` was revoked (RFC 7009).
  bool access_token_revoked(std::string_view jti) const;
  /// The person's grants that are not revoked, newest first.
  std::vector<domain::oauth::grant_state> of_user(std::string_view user_id) const;
  /// The person's live grant of `client_id` in `workspace_id`, if any (the remembered consent).
  std::optional<domain::oauth::grant_state> find(std::string_view user_id,
                                                 std::string_view client_id,
                                                 std::string_view workspace_id) const;
  /// The live grants of a client (to end them when the client goes).
  std::vector<std::string> grants_of_client(std::string_view client_id) const;

 private:
  void forget_expired_denials(domain::timestamp now);
  /// Under mutex_: the grants an index lists under `key`.
  std::vector<const domain::oauth::grant_state*> of_index(
      const std::unordered_map<std::string, std::vector<std::string>>& index,
      std::string_view key) const;

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, domain::oauth::grant_state> grants_;
  std::unordered_map<std::string, std::string> grant_by_family_;
  // Grant ids by person and by client, in creation order: the reads below look at one
  // person's or one client's grants, never at all of them.
  std::unordered_map<std::string, std::vector<std::string>> grants_by_user_;
  std::unordered_map<std::string, std::vector<std::string>> grants_by_client_;
  std::unordered_map<std::string, domain::timestamp> denied_jtis_;  // jti -> token expiry
  domain::timestamp last_pruned_{};
};

}  // namespace keyledger::services

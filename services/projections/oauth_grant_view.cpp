#include "services/projections/oauth_grant_view.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <variant>

#include "infra/core/log.hpp"
#include "infra/json/grant_codec.hpp"
#include "infra/json/token_codec.hpp"

namespace keyledger::services {

namespace oauth = domain::oauth;

namespace {

void log_skipped(const infra::recorded_event& e) {
  // Type and position only: payloads stay out of the log.
  infra::log(infra::log_level::error, "oauth_grant_view_skipped_event",
             {{"type", e.type}, {"global_seq", std::to_string(e.global_seq)}});
}

const std::string& grant_id_of(const oauth::grant_event& e) {
  return std::visit([](const auto& alt) -> const std::string& { return alt.grant_id; }, e);
}

}  // namespace

std::vector<const oauth::grant_state*> oauth_grant_view::of_index(
    const std::unordered_map<std::string, std::vector<std::string>>& index,
    std::string_view key) const {
  std::vector<const oauth::grant_state*> out;
  const auto ids = index.find(std::string(key));
  if (ids == index.end()) return out;
  out.reserve(ids->second.size());
  for (const auto& id : ids->second) {
    if (const auto g = grants_.find(id); g != grants_.end()) out.push_back(&g->second);
  }
  return out;
}

std::span<const std::string_view> oauth_grant_view::categories() const noexcept {
  static constexpr std::string_view grants[] = {"oauth_grant", "oauth_access_token"};
  return grants;
}

void oauth_grant_view::apply(const infra::recorded_event& e) {
  const auto category = infra::category_of(e.stream_id);
  if (category == "oauth_access_token" || e.type == "AccessTokenRevoked") {
    const auto decoded = infra::decode_access_token_event(e.type, e.payload);
    if (!decoded) return log_skipped(e);
    const auto& revoked = std::get<oauth::access_token_revoked>(*decoded);
    std::unique_lock lock(mutex_);
    denied_jtis_[revoked.jti] = revoked.expires_at;
    forget_expired_denials(revoked.at);
    return;
  }
  const auto decoded = infra::decode_grant_event(e.type, e.payload);
  if (!decoded) return log_skipped(e);
  const auto& grant_id = grant_id_of(*decoded);
  if (!e.stream_id.empty() && e.stream_id != oauth::grant_stream_id(grant_id)) {
    return log_skipped(e);
  }
  std::unique_lock lock(mutex_);
  const bool creation = std::holds_alternative<oauth::grant_created>(*decoded);
  auto it = grants_.find(grant_id);
  if (creation == (it != grants_.end())) return log_skipped(e);  // a grant starts once
  if (creation) it = grants_.emplace(grant_id, oauth::grant_state{}).first;
  it->second = oauth::evolve(std::move(it->second), *decoded);
  if (creation) {
    grants_by_user_[it->second.user_id].push_back(grant_id);
    grants_by_client_[it->second.client_id].push_back(grant_id);
  }
  if (const auto* redeemed = std::get_if<oauth::code_redeemed>(&*decoded)) {
    grant_by_family_[redeemed->family_id] = grant_id;
  }
}

void oauth_grant_view::forget_expired_denials(domain::timestamp now) {
  // At most once a minute: a sweep is linear in the denylist.
  if (now - last_pruned_ < std::chrono::minutes(1)) return;
  last_pruned_ = now;
  std::erase_if(denied_jtis_, [now](const auto& entry) { return entry.second <= now; });
}

std::optional<oauth::grant_state> oauth_grant_view::grant(std::string_view grant_id) const {
  std::shared_lock lock(mutex_);
  const auto it = grants_.find(std::string(grant_id));
  if (it == grants_.end()) return std::nullopt;
  return it->second;
}

std::optional<oauth::grant_state> oauth_grant_view::grant_of_family(
    std::string_view family_id) const {
  std::shared_lock lock(mutex_);
  const auto f = grant_by_family_.find(std::string(family_id));
  if (f == grant_by_family_.end()) return std::nullopt;
  const auto g = grants_.find(f->second);
  if (g == grants_.end()) return std::nullopt;
  return g->second;
}

bool oauth_grant_view::family_ended(std::string_view family_id) const {
  std::shared_lock lock(mutex_);
  const auto f = grant_by_family_.find(std::string(family_id));
  if (f == grant_by_family_.end()) return true;
  const auto g = grants_.find(f->second);
  if (g == grants_.end() || g->second.revoked) return true;
  const auto* family = g->second.find_family(family_id);
  return family == nullptr || family->ended.has_value();
}

bool oauth_grant_view::access_token_revoked(std::string_view jti) const {
  std::shared_lock lock(mutex_);
  return denied_jtis_.contains(std::string(jti));
}

std::vector<oauth::grant_state> oauth_grant_view::of_user(std::string_view user_id) const {
  std::vector<oauth::grant_state> out;
  {
    std::shared_lock lock(mutex_);
    for (const auto* g : of_index(grants_by_user_, user_id)) {
      if (!g->revoked) out.push_back(*g);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.grant_id < b.grant_id;
  });
  return out;
}

std::optional<oauth::grant_state> oauth_grant_view::find(std::string_view user_id,
                                                         std::string_view client_id,
                                                         std::string_view workspace_id) const {
  std::shared_lock lock(mutex_);
  const oauth::grant_state* best = nullptr;
  for (const auto* g : of_index(grants_by_user_, user_id)) {
    if (g->revoked || g->client_id != client_id || g->workspace_id != workspace_id) continue;
    // Two consents racing on two nodes may leave two grants: the older one is the one.
    if (best == nullptr || g->created_at < best->created_at) best = g;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::vector<std::string> oauth_grant_view::grants_of_client(std::string_view client_id) const {
  std::vector<std::string> out;
  std::shared_lock lock(mutex_);
  for (const auto* g : of_index(grants_by_client_, client_id)) {
    if (!g->revoked) out.push_back(g->grant_id);
  }
  return out;
}

}  // namespace keyledger::services

#include "domain/webhooks/endpoint.hpp"

#include <algorithm>

#include "domain/keys/key_settings.hpp"
#include "domain/overloaded.hpp"
#include "domain/webhooks/delivery.hpp"

namespace keyledger::domain::webhooks {
namespace {

using decision = result<std::vector<endpoint_event>, endpoint_rejection>;

bool has_duplicates(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) != v.end();
}

std::optional<endpoint_rejection> live(const endpoint_state& s) {
  if (!s.exists) return endpoint_rejection::endpoint_not_found;
  if (s.deleted) return endpoint_rejection::endpoint_deleted;
  return std::nullopt;
}

decision decide_create(const endpoint_state& state, const create_endpoint& c) {
  if (state.exists) return endpoint_rejection::endpoint_already_exists;
  if (!valid_endpoint_id(c.endpoint_id)) return endpoint_rejection::invalid_endpoint_id;
  if (c.workspace_id.empty() || c.created_by.empty()) return endpoint_rejection::invalid_workspace;
  if (auto bad = check_settings(c.settings)) return *bad;
  return std::vector<endpoint_event>{
      endpoint_created{c.endpoint_id, c.workspace_id, c.settings, c.enabled, c.created_by, c.now}};
}

decision decide_update(const endpoint_state& state, const update_endpoint& c) {
  if (auto bad = live(state)) return *bad;
  const auto after = c.changes.applied_to(state.settings);
  if (auto bad = check_settings(after)) return *bad;
  endpoint_settings_patch changed;
  if (after.url != state.settings.url) changed.url = after.url;
  if (after.event_types != state.settings.event_types) changed.event_types = after.event_types;
  if (changed == endpoint_settings_patch{}) return std::vector<endpoint_event>{};
  return std::vector<endpoint_event>{endpoint_updated{c.endpoint_id, std::move(changed), c.now}};
}

decision decide_rotate(const endpoint_state& state, const rotate_endpoint_secret& c) {
  if (auto bad = live(state)) return *bad;
  if (c.overlap < std::chrono::seconds(0) || c.overlap > max_secret_overlap) {
    return endpoint_rejection::invalid_overlap;
  }
  if (c.secret_version <= state.secret_version) return endpoint_rejection::invalid_secret_version;
  return std::vector<endpoint_event>{
      endpoint_secret_rotated{c.endpoint_id, c.secret_version, c.now + c.overlap, c.now}};
}

decision decide_disable(const endpoint_state& state, const disable_endpoint& c) {
  if (auto bad = live(state)) return *bad;
  if (!state.enabled) return std::vector<endpoint_event>{};
  std::optional<timestamp> since;
  if (c.reason == disable_reason::failing) since = c.failing_since.value_or(c.now);
  return std::vector<endpoint_event>{endpoint_disabled{c.endpoint_id, c.reason, since, c.now}};
}

}  // namespace

std::string_view to_string(endpoint_rejection r) noexcept {
  switch (r) {
    case endpoint_rejection::endpoint_not_found:
      return "endpoint_not_found";
    case endpoint_rejection::endpoint_already_exists:
      return "endpoint_already_exists";
    case endpoint_rejection::endpoint_deleted:
      return "endpoint_deleted";
    case endpoint_rejection::invalid_endpoint_id:
      return "invalid_endpoint_id";
    case endpoint_rejection::invalid_workspace:
      return "invalid_workspace";
    case endpoint_rejection::invalid_url:
      return "invalid_url";
    case endpoint_rejection::invalid_event_types:
      return "invalid_event_types";
    case endpoint_rejection::invalid_overlap:
      return "invalid_overlap";
    case endpoint_rejection::invalid_secret_version:
      return "invalid_secret_version";
  }
  return "unknown";
}

std::string_view to_string(disable_reason r) noexcept {
  return r == disable_reason::failing ? "failing" : "manual";
}

std::optional<disable_reason> parse_disable_reason(std::string_view text) noexcept {
  if (text == "manual") return disable_reason::manual;
  if (text == "failing") return disable_reason::failing;
  return std::nullopt;
}

endpoint_settings endpoint_settings_patch::applied_to(endpoint_settings base) const {
  if (url) base.url = *url;
  if (event_types) base.event_types = *event_types;
  return base;
}

std::optional<endpoint_rejection> check_settings(const endpoint_settings& s) {
  // The key postback rule: https, or http only to loopback; no user info, no fragment.
  if (s.url.empty() || !valid_postback_url(s.url)) return endpoint_rejection::invalid_url;
  const auto& t = s.event_types;
  if (t.empty() || t.size() > max_event_types || has_duplicates(t) ||
      !std::all_of(t.begin(), t.end(),
                   [](const std::string& p) { return valid_event_pattern(p); })) {
    return endpoint_rejection::invalid_event_types;
  }
  return std::nullopt;
}

std::string_view event_type(const endpoint_event& e) noexcept {
  return std::visit(
      overloaded{
          [](const endpoint_created&) { return std::string_view("WebhookEndpointCreated"); },
          [](const endpoint_updated&) { return std::string_view("WebhookEndpointUpdated"); },
          [](const endpoint_secret_rotated&) { return std::string_view("WebhookSecretRotated"); },
          [](const endpoint_disabled&) { return std::string_view("WebhookEndpointDisabled"); },
          [](const endpoint_enabled&) { return std::string_view("WebhookEndpointEnabled"); },
          [](const endpoint_deleted&) { return std::string_view("WebhookEndpointDeleted"); },
      },
      e);
}

std::vector<std::uint32_t> endpoint_state::signing_versions(timestamp now) const {
  std::vector<std::uint32_t> out;
  if (!exists || deleted || secret_version == 0) return out;
  out.push_back(secret_version);
  if (previous_secret_version != 0 && previous_valid_until && now < *previous_valid_until) {
    out.push_back(previous_secret_version);
  }
  return out;
}

bool endpoint_state::receives(std::string_view type) const {
  if (!exists || deleted || !enabled) return false;
  return std::any_of(settings.event_types.begin(), settings.event_types.end(),
                     [type](const std::string& p) { return pattern_matches(p, type); });
}

bool valid_endpoint_id(std::string_view id) noexcept { return valid_id(endpoint_id_tag, id); }

std::string endpoint_stream_id(std::string_view endpoint_id) {
  std::string out(endpoint_category);
  out.push_back('-');
  out.append(endpoint_id);
  return out;
}

result<std::vector<endpoint_event>, endpoint_rejection> decide(const endpoint_state& state,
                                                               const endpoint_command& command) {
  return std::visit(
      overloaded{
          [&](const create_endpoint& c) { return decide_create(state, c); },
          [&](const update_endpoint& c) { return decide_update(state, c); },
          [&](const rotate_endpoint_secret& c) { return decide_rotate(state, c); },
          [&](const disable_endpoint& c) { return decide_disable(state, c); },
          [&](const enable_endpoint& c) -> decision {
            if (auto bad = live(state)) return *bad;
            if (state.enabled) return std::vector<endpoint_event>{};
            return std::vector<endpoint_event>{endpoint_enabled{c.endpoint_id, c.now}};
          },
          [&](const delete_endpoint& c) -> decision {
            if (auto bad = live(state)) return *bad;
            return std::vector<endpoint_event>{endpoint_deleted{c.endpoint_id, c.now}};
          },
      },
      command);
}

endpoint_state evolve(endpoint_state state, const endpoint_event& event) {
  std::visit(overloaded{
                 [&](const endpoint_created& e) {
                   state.exists = true;
                   state.endpoint_id = e.endpoint_id;
                   state.workspace_id = e.workspace_id;
                   state.settings = e.settings;
                   state.enabled = e.enabled;
                   state.disabled_reason =
                       e.enabled ? std::nullopt : std::optional(disable_reason::manual);
                   state.secret_version = 1;
                   state.created_by = e.created_by;
                   state.created_at = e.created_at;
                 },
                 [&](const endpoint_updated& e) {
                   state.settings = e.changes.applied_to(state.settings);
                   state.updated_at = e.updated_at;
                 },
                 [&](const endpoint_secret_rotated& e) {
                   state.previous_secret_version = state.secret_version;
                   state.previous_valid_until = e.previous_valid_until;
                   state.secret_version = e.secret_version;
                   state.updated_at = e.rotated_at;
                 },
                 [&](const endpoint_disabled& e) {
                   state.enabled = false;
                   state.disabled_reason = e.reason;
                   state.updated_at = e.at;
                 },
                 [&](const endpoint_enabled& e) {
                   state.enabled = true;
                   state.disabled_reason.reset();
                   state.updated_at = e.at;
                 },
                 [&](const endpoint_deleted& e) {
                   state.deleted = true;
                   state.enabled = false;
                   state.updated_at = e.at;
                 },
             },
             event);
  ++state.version;
  return state;
}

}  // namespace keyledger::domain::webhooks

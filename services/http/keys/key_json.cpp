// The key object of docs/api.md.
#include <string>

#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_endpoints.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {

void write_key_fields(infra::json_writer& w, const domain::api_key_state& k,
                      const key_standing& standing, domain::timestamp now,
                      const infra::last_use* last) {
  w.field("id", k.key_id)
      .field("name", k.name)
      .field("start", k.start)
      .field("environment", domain::to_string(k.env));
  infra::write_string_array(w, "scopes", k.scopes);
  infra::write_string_array(w, "effective_scopes", standing.effective_scopes);
  infra::write_string_or_null(w, "owner_user_id", k.owner_user_id);
  // As the key view evaluates it: an active key whose owner was removed is disabled.
  auto status = k.status_at(now);
  if (status == domain::key_status::active && standing.owner_removed) {
    status = domain::key_status::disabled;
  }
  w.field("workspace_id", k.workspace_id)
      .field("enabled", k.enabled)
      .field("status", domain::to_string(status));
  w.key("disabled_reason");
  if (status != domain::key_status::disabled) {
    w.null();
  } else {
    w.string(standing.owner_removed ? "owner_removed" : "disabled");
  }
  w.field("created_at", domain::format_timestamp(k.created_at));
  infra::write_timestamp_or_null(w, "expires_at", k.expires_at);
  infra::write_timestamp_or_null(w, "updated_at", k.updated_at);
  infra::write_timestamp_or_null(w, "revoked_at", k.revoked_at);
  infra::write_string_array(w, "allowed_cidrs", k.allowed_cidrs);
  infra::write_string_or_null(w, "postback_url", k.postback_url);
  w.field("off_the_record", k.off_the_record);
  w.key("rate_limit");
  if (k.limit) {
    w.begin_object()
        .field("limit", static_cast<std::uint64_t>(k.limit->limit))
        .field("window_seconds", static_cast<std::uint64_t>(k.limit->window_seconds))
        .end_object();
  } else {
    w.null();
  }
  infra::write_string_or_null(w, "rotated_from", k.rotated_from);
  infra::write_string_or_null(w, "rotated_to", k.rotated_to);
  if (last != nullptr && last->at_us > 0) {
    w.field("last_used_at",
            domain::format_timestamp(domain::timestamp(std::chrono::microseconds(last->at_us))));
    infra::write_string_or_null(w, "last_used_ip", last->ip);
  } else {
    w.key("last_used_at").null().key("last_used_ip").null();
  }
}

const infra::last_use* find_use(const std::vector<infra::last_use>& uses, std::string_view id) {
  for (const auto& u : uses) {
    if (u.key_id == id) return &u;
  }
  return nullptr;
}

infra::http_response key_object(const domain::api_key_state& k, const key_standing& standing,
                                domain::timestamp now, const infra::last_use* last,
                                unsigned status) {
  infra::json_writer w;
  w.begin_object();
  write_key_fields(w, k, standing, now, last);
  w.end_object();
  return json_response(status, w.take());
}

/// The answer to create and rotate: the new key with its secret, shown this once.
infra::http_response created_response(const created_key& created, const key_standing& standing,
                                      domain::timestamp now) {
  infra::json_writer w;
  w.begin_object();
  write_key_fields(w, created.state, standing, now, nullptr);
  // The secret leaves the process here, once.
  w.field("key", created.key.reveal()).end_object();
  auto r = json_response(201, w.take());
  r.headers.emplace_back("Location", "/v1/keys/" + created.state.key_id);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace keyledger::services::http

// The key object of docs/api.md, written once for the API and the CLI.
#include "services/app/key_json.hpp"

#include <chrono>
#include <cstdint>

namespace keyledger::services {

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

}  // namespace keyledger::services

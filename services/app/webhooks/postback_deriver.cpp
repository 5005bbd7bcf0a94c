#include "services/app/webhooks/postback_deriver.hpp"

#include <algorithm>
#include <array>
#include <variant>

#include "domain/keys/leak_report.hpp"
#include "domain/overloaded.hpp"
#include "domain/webhooks/delivery.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "infra/json/export_codec.hpp"
#include "infra/json/grant_codec.hpp"
#include "infra/json/json.hpp"
#include "infra/json/oauth_codec.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using infra::json_writer;

/// Bytes from SHA-256(seed || counter), for new_id: a deterministic "random" source.
class digest_stream final : public domain::random_source {
 public:
  explicit digest_stream(std::string seed) : seed_(std::move(seed)) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      if (used_ == block_.size()) {
        block_ = infra::sha256(seed_ + "/" + std::to_string(counter_++));
        used_ = 0;
      }
      b = block_[used_++];
    }
  }

 private:
  std::string seed_;
  std::uint64_t counter_ = 0;
  infra::sha256_digest block_{};
  std::size_t used_ = block_.size();
};

/// The envelope every body shares; `data` writes the members after event_id and event_seq.
template <typename Data>
std::string body_of(std::string_view type, const infra::recorded_event& e, Data&& data) {
  json_writer w;
  w.begin_object();
  w.field("type", type);
  w.field("timestamp",
          domain::format_timestamp(domain::timestamp(std::chrono::microseconds(e.recorded_at_us))));
  w.key("data").begin_object();
  w.field("event_id", infra::format_uuid_text(e.event_id));
  w.field("event_seq", e.global_seq);
  data(w);
  w.end_object();
  w.end_object();
  return w.take();
}

/// A key as a postback shows it: what GET /v1/keys/{id} shows, less the postback URL.
void key_members(json_writer& w, const key_entry& k, domain::timestamp at) {
  const auto s = k.state();
  w.field("workspace_id", s.workspace_id);
  w.field("key_id", s.key_id);
  w.field("name", s.name);
  w.field("environment", domain::to_string(s.env));
  w.field("start", s.start);
  w.field("status", domain::to_string(k.status_at(at)));
  w.field("enabled", s.enabled);
  infra::write_string_array(w, "scopes", s.scopes);
  w.field("created_at", domain::format_timestamp(s.created_at));
  infra::write_timestamp_or_null(w, "expires_at", s.expires_at);
  infra::write_timestamp_or_null(w, "revoked_at", s.revoked_at);
  w.field("owner_user_id", s.owner_user_id);
  w.field("rotated_from", s.rotated_from);
  w.field("rotated_to", s.rotated_to);
}

/// What the event itself adds to the key's members.
void key_event_members(json_writer& w, const domain::api_key_event& event) {
  std::visit(domain::overloaded{
                 [&](const domain::key_rotated& r) {
                   w.field("grace_until", domain::format_timestamp(r.grace_until));
                 },
                 [&](const domain::key_expiry_approaching& a) {
                   w.field("days_before", static_cast<std::int64_t>(a.days_before));
                 },
                 [&](const domain::key_leaked& l) {
                   w.key("leak").begin_object();
                   w.field("url", l.url);
                   w.field("source", l.source);
                   w.field("action", domain::to_string(l.action));
                   w.field("reported_at", domain::format_timestamp(l.reported_at));
                   w.end_object();
                 },
                 [](const auto&) {},
             },
             event);
}

std::string key_id_of(const domain::api_key_event& event) {
  return std::visit([](const auto& x) { return x.key_id; }, event);
}

struct target {
  std::string endpoint_id;
  std::string workspace_id;
};

void add_receivers(std::vector<target>& out, const webhook_endpoint_view& endpoints,
                   std::string_view workspace_id, std::string_view type) {
  for (const auto& endpoint : endpoints.receivers(workspace_id, type)) {
    const bool seen = std::any_of(out.begin(), out.end(), [&](const target& t) {
      return t.endpoint_id == endpoint.endpoint_id;
    });
    if (!seen) out.push_back({endpoint.endpoint_id, endpoint.workspace_id});
  }
}

std::vector<infra::new_delivery> deliveries_of(const infra::recorded_event& e,
                                               std::string_view type, const std::string& body,
                                               const std::vector<target>& targets) {
  std::vector<infra::new_delivery> out;
  out.reserve(targets.size());
  for (const auto& t : targets) {
    infra::new_delivery d;
    d.message_id = postback_message_id(e.event_id, t.endpoint_id);
    d.event_id = e.event_id;
    d.endpoint_id = t.endpoint_id;
    d.workspace_id = t.workspace_id;
    d.event_seq = e.global_seq;
    d.event_type = std::string(type);
    d.payload = body;
    d.due_us = e.recorded_at_us;
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<infra::new_delivery> key_postbacks(const infra::recorded_event& e,
                                               std::string_view type,
                                               const postback_sources& sources) {
  const auto event = infra::decode_api_key_event(e.type, e.payload);
  if (!event) return {};
  const auto key = sources.keys.find_by_id(key_id_of(*event));
  if (!key) return {};
  std::vector<target> targets;
  add_receivers(targets, sources.endpoints, key->workspace_id(), type);
  if (!key->postback_url().empty()) {
    targets.push_back({std::string(key->key_id()), key->workspace_id()});
  }
  if (targets.empty()) return {};
  const auto at = domain::timestamp(std::chrono::microseconds(e.recorded_at_us));
  const auto body = body_of(type, e, [&](json_writer& w) {
    key_members(w, *key, at);
    key_event_members(w, *event);
  });
  return deliveries_of(e, type, body, targets);
}

std::vector<infra::new_delivery> client_postbacks(const infra::recorded_event& e,
                                                  std::string_view type,
                                                  const postback_sources& sources) {
  const auto event = infra::decode_client_event(e.type, e.payload);
  if (!event) return {};
  const auto client_id = std::visit([](const auto& x) { return x.client_id; }, *event);
  const auto client = sources.clients.find(client_id);
  if (!client) return {};
  std::vector<target> targets;
  add_receivers(targets, sources.endpoints, client->workspace_id, type);
  if (targets.empty()) return {};
  const auto body = body_of(type, e, [&](json_writer& w) {
    w.field("workspace_id", client->workspace_id);
    w.field("client_id", client->client_id);
    w.field("name", client->settings.name);
    w.field("client_type", domain::oauth::to_string(client->type));
    w.field("enabled", client->enabled);
    w.field("deleted", client->deleted);
    infra::write_string_array(w, "redirect_uris", client->settings.redirect_uris);
    infra::write_string_array(w, "allowed_scopes", client->settings.allowed_scopes);
  });
  return deliveries_of(e, type, body, targets);
}

std::vector<infra::new_delivery> grant_postbacks(const infra::recorded_event& e,
                                                 std::string_view type,
                                                 const postback_sources& sources) {
  const auto event = infra::decode_grant_event(e.type, e.payload);
  if (!event) return {};
  std::string family_id;
  std::string reason = "revoked_by_user";
  std::visit(domain::overloaded{
                 [&](const domain::oauth::family_revoked& f) {
                   family_id = f.family_id;
                   reason = std::string(domain::oauth::to_string(f.reason));
                 },
                 [](const auto&) {},
             },
             *event);
  const auto grant_id = std::visit([](const auto& x) { return x.grant_id; }, *event);
  const auto grant = sources.grants.grant(grant_id);
  if (!grant) return {};
  const auto client = sources.clients.find(grant->client_id);
  std::vector<target> targets;
  if (client) add_receivers(targets, sources.endpoints, client->workspace_id, type);
  add_receivers(targets, sources.endpoints, grant->workspace_id, type);
  if (targets.empty()) return {};
  const auto body = body_of(type, e, [&](json_writer& w) {
    w.field("grant_id", grant->grant_id);
    w.field("client_id", grant->client_id);
    w.field("client_workspace_id", client ? client->workspace_id : std::string());
    w.field("workspace_id", grant->workspace_id);
    w.field("user_id", grant->user_id);
    w.field("family_id", family_id);
    w.field("reason", reason);
    infra::write_string_array(w, "scopes", grant->scopes);
  });
  return deliveries_of(e, type, body, targets);
}

}  // namespace

std::string postback_message_id(const infra::uuid& event_id, std::string_view endpoint_id) {
  digest_stream stream("keyledger/postback-message/" + infra::format_uuid_text(event_id) + "/" +
                       std::string(endpoint_id));
  return domain::new_id(wh::message_id_tag, stream);
}

std::vector<infra::new_delivery> derive_postbacks(const infra::recorded_event& e,
                                                  const postback_sources& sources) {
  const auto type = wh::postback_type_of(e.type);
  if (type.empty()) return {};
  if (type.starts_with("key.")) return key_postbacks(e, type, sources);
  if (type.starts_with("oauth.client.")) return client_postbacks(e, type, sources);
  return grant_postbacks(e, type, sources);
}

}  // namespace keyledger::services

#include "infra/json/webhook_codec.hpp"

#include <rapidjson/document.h>

#include <utility>
#include <variant>

#include "infra/json/detail/payload_reader.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

namespace rj = rapidjson;
namespace wh = domain::webhooks;
using detail::field_reader;

// ---- encoding -----------------------------------------------------------------------------

std::string encode(const wh::endpoint_created& e) {
  json_writer w;
  w.begin_object()
      .field("endpoint_id", e.endpoint_id)
      .field("workspace_id", e.workspace_id)
      .field("url", e.settings.url);
  write_string_array(w, "event_types", e.settings.event_types);
  w.field("enabled", e.enabled).field("created_by", e.created_by);
  write_timestamp(w, "created_at", e.created_at);
  w.end_object();
  return w.take();
}

std::string encode(const wh::endpoint_updated& e) {
  json_writer w;
  w.begin_object().field("endpoint_id", e.endpoint_id);
  // Only what the update changed; an absent member means "unchanged".
  if (e.changes.url) w.field("url", *e.changes.url);
  if (e.changes.event_types) write_string_array(w, "event_types", *e.changes.event_types);
  write_timestamp(w, "updated_at", e.updated_at);
  w.end_object();
  return w.take();
}

std::string encode(const wh::endpoint_secret_rotated& e) {
  json_writer w;
  w.begin_object()
      .field("endpoint_id", e.endpoint_id)
      .field("secret_version", static_cast<std::int64_t>(e.secret_version));
  write_timestamp(w, "previous_valid_until", e.previous_valid_until);
  write_timestamp(w, "rotated_at", e.rotated_at);
  w.end_object();
  return w.take();
}

std::string encode(const wh::endpoint_disabled& e) {
  json_writer w;
  w.begin_object().field("endpoint_id", e.endpoint_id).field("reason", wh::to_string(e.reason));
  write_timestamp_or_null(w, "failing_since", e.failing_since);
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

template <class Event>
std::string encode_simple(const Event& e) {
  json_writer w;
  w.begin_object().field("endpoint_id", e.endpoint_id);
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

std::string encode(const wh::endpoint_enabled& e) { return encode_simple(e); }
std::string encode(const wh::endpoint_deleted& e) { return encode_simple(e); }

// ---- decoding -----------------------------------------------------------------------------

std::optional<wh::endpoint_event> decode_created(const rj::Value& obj) {
  field_reader r(obj);
  wh::endpoint_created e;
  e.endpoint_id = r.string("endpoint_id");
  e.workspace_id = r.string("workspace_id");
  e.settings.url = r.string("url");
  e.settings.event_types = r.string_array("event_types");
  e.enabled = r.boolean("enabled");
  e.created_by = r.string("created_by");
  e.created_at = r.timestamp("created_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<wh::endpoint_event> decode_updated(const rj::Value& obj) {
  field_reader r(obj);
  wh::endpoint_updated e;
  e.endpoint_id = r.string("endpoint_id");
  e.changes.url = r.opt_string("url");
  e.changes.event_types = r.opt_string_array("event_types");
  e.updated_at = r.timestamp("updated_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<wh::endpoint_event> decode_rotated(const rj::Value& obj) {
  field_reader r(obj);
  wh::endpoint_secret_rotated e;
  e.endpoint_id = r.string("endpoint_id");
  e.secret_version = r.uint32("secret_version");
  e.previous_valid_until = r.timestamp("previous_valid_until");
  e.rotated_at = r.timestamp("rotated_at");
  if (!r.ok() || e.secret_version < 2) return std::nullopt;
  return e;
}

std::optional<wh::endpoint_event> decode_disabled(const rj::Value& obj) {
  field_reader r(obj);
  wh::endpoint_disabled e;
  e.endpoint_id = r.string("endpoint_id");
  const auto reason = wh::parse_disable_reason(r.string("reason"));
  e.failing_since = r.nullable_timestamp("failing_since");
  e.at = r.timestamp("at");
  if (!r.ok() || !reason) return std::nullopt;
  e.reason = *reason;
  return e;
}

template <class Event>
std::optional<wh::endpoint_event> decode_simple(const rj::Value& obj) {
  field_reader r(obj);
  Event e;
  e.endpoint_id = r.string("endpoint_id");
  e.at = r.timestamp("at");
  if (!r.ok()) return std::nullopt;
  return wh::endpoint_event{std::move(e)};
}

}  // namespace

std::string encode_payload(const wh::endpoint_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<wh::endpoint_event> decode_endpoint_event(std::string_view type,
                                                        std::string_view payload) {
  detail::decoder<wh::endpoint_event> decode = nullptr;
  if (type == "WebhookEndpointCreated") decode = decode_created;
  if (type == "WebhookEndpointUpdated") decode = decode_updated;
  if (type == "WebhookSecretRotated") decode = decode_rotated;
  if (type == "WebhookEndpointDisabled") decode = decode_disabled;
  if (type == "WebhookEndpointEnabled") decode = decode_simple<wh::endpoint_enabled>;
  if (type == "WebhookEndpointDeleted") decode = decode_simple<wh::endpoint_deleted>;
  return detail::parse_and_decode(payload, decode);
}

}  // namespace keyledger::infra

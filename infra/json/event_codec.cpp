#include "infra/json/event_codec.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <utility>
#include <variant>
#include <vector>

#include "infra/json/detail/canonical_key_created.hpp"
#include "infra/json/detail/payload_reader.hpp"
#include "infra/json/json.hpp"

// Payload formats and the compatibility rules are in docs/events.md. The encoders write members
// in a fixed order: the log stores and hash-chains the exact bytes, so the same event must
// always encode to the same text.

namespace keyledger::infra {

namespace {

namespace rj = rapidjson;
using detail::field_reader;
using detail::parse_payload_object;

// ---- encoding -----------------------------------------------------------------------------

void write_rate_limit(json_writer& w, std::string_view name,
                      const std::optional<domain::rate_limit>& limit) {
  w.key(name);
  if (!limit) {
    w.null();
    return;
  }
  w.begin_object()
      .field("limit", static_cast<std::uint64_t>(limit->limit))
      .field("window_seconds", static_cast<std::uint64_t>(limit->window_seconds))
      .end_object();
}

void write_key_policy(json_writer& w, const domain::key_policy& p) {
  w.key("key_policy")
      .begin_object()
      .field("default_lifespan_days", static_cast<std::int64_t>(p.default_lifespan.count()))
      .field("max_lifespan_days", static_cast<std::int64_t>(p.max_lifespan.count()))
      .field("allow_no_expiry", p.allow_no_expiry)
      .field("names_allow_spaces", p.names_allow_spaces)
      .end_object();
}

std::string encode(const domain::key_created& e) {
  json_writer w;
  w.begin_object()
      .field("key_id", e.key_id)
      .field("workspace_id", e.workspace_id)
      .field("name", e.name)
      .field("environment", domain::to_string(e.env));
  write_string_array(w, "scopes", e.scopes);
  w.field("key_hash", e.key_hash).field("start", e.start);
  write_timestamp(w, "created_at", e.created_at);
  // Members added by the lifecycle issue: always written, so a payload says everything.
  write_timestamp_or_null(w, "expires_at", e.expires_at);
  write_string_array(w, "allowed_cidrs", e.allowed_cidrs);
  write_string_or_null(w, "postback_url", e.postback_url);
  w.field("off_the_record", e.off_the_record).field("enabled", e.enabled);
  write_rate_limit(w, "limit", e.limit);
  write_string_or_null(w, "rotated_from", e.rotated_from);
  // Since users and roles: written only for owned keys (absent = no owner, as in older events).
  if (!e.owner_user_id.empty()) w.field("owner_user_id", e.owner_user_id);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_updated& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id);
  // Only the members the update changed; an absent member means "unchanged".
  if (e.name) w.field("name", *e.name);
  if (e.scopes) write_string_array(w, "scopes", *e.scopes);
  if (e.allowed_cidrs) write_string_array(w, "allowed_cidrs", *e.allowed_cidrs);
  if (e.postback_url) write_string_or_null(w, "postback_url", *e.postback_url);
  if (e.off_the_record) w.field("off_the_record", *e.off_the_record);
  if (e.limit) write_rate_limit(w, "limit", *e.limit);
  write_timestamp(w, "updated_at", e.updated_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_disabled& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id);
  write_timestamp(w, "disabled_at", e.disabled_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_enabled& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id);
  write_timestamp(w, "enabled_at", e.enabled_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_rotated& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id).field("rotated_to", e.rotated_to);
  write_timestamp(w, "rotated_at", e.rotated_at);
  write_timestamp(w, "grace_until", e.grace_until);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_revoked& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id);
  write_timestamp(w, "revoked_at", e.revoked_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_expired& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id);
  write_timestamp(w, "expired_at", e.expired_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_expiry_approaching& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id);
  write_timestamp(w, "expires_at", e.expires_at);
  // Since the 1-day warning: which warning this is (absent in older events: 14).
  w.field("days_before", static_cast<std::int64_t>(e.days_before));
  w.end_object();
  return w.take();
}

std::string encode(const domain::key_leaked& e) {
  json_writer w;
  w.begin_object().field("key_id", e.key_id).field("url", e.url).field("source", e.source);
  w.field("action", domain::to_string(e.action));
  write_timestamp(w, "reported_at", e.reported_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::workspace_created& e) {
  json_writer w;
  w.begin_object()
      .field("workspace_id", e.workspace_id)
      .field("name", e.name)
      .field("key_prefix", e.key_prefix);
  write_timestamp(w, "created_at", e.created_at);
  write_key_policy(w, e.policy);
  // Since users and roles: written only when set (absent = empty catalog).
  if (!e.scope_catalog.empty()) write_string_array(w, "scope_catalog", e.scope_catalog);
  w.end_object();
  return w.take();
}

std::string encode(const domain::workspace_settings_changed& e) {
  json_writer w;
  w.begin_object().field("workspace_id", e.workspace_id);
  // Only the members that changed.
  if (e.policy) write_key_policy(w, *e.policy);
  if (e.scope_catalog) write_string_array(w, "scope_catalog", *e.scope_catalog);
  w.field("changed_by", e.changed_by);
  write_timestamp(w, "changed_at", e.changed_at);
  // Since leak reports, after the older members: only when it changed.
  if (e.on_leak) w.field("on_leak", domain::to_string(*e.on_leak));
  w.end_object();
  return w.take();
}

// ---- decoding -------------------------------------------------------------------------------
// Strict about the fields an event type defines (right type, each at most once, required ones
// present); members it does not define are ignored, so a reader keeps working when a newer
// writer adds optional fields. Members added after the first release have documented defaults
// when absent. The generic getters are detail::field_reader's; the domain ones follow.

domain::environment read_environment(field_reader& r, std::string_view name) {
  const std::string text = r.string(name);
  if (!r.ok()) return {};
  const auto env = domain::parse_environment(text);
  if (!env) return r.fail<domain::environment>();
  return *env;
}

/// Absent: nullopt. null: a set optional holding nullopt ("no limit"). An object: the limit.
std::optional<std::optional<domain::rate_limit>> read_opt_rate_limit(field_reader& r,
                                                                     std::string_view name) {
  using nullable_limit = std::optional<domain::rate_limit>;
  const rj::Value* v = r.member(name);
  if (v == nullptr) return std::nullopt;
  if (v->IsNull()) return std::optional<nullable_limit>{std::in_place, std::nullopt};
  if (!v->IsObject()) return r.fail<std::optional<nullable_limit>>();
  field_reader inner(*v);
  domain::rate_limit limit;
  limit.limit = inner.uint32("limit");
  limit.window_seconds = inner.uint32("window_seconds");
  if (!inner.ok()) return r.fail<std::optional<nullable_limit>>();
  return nullable_limit{limit};
}

bool fits_days(std::int64_t n) noexcept {
  return n >= std::numeric_limits<int>::min() && n <= std::numeric_limits<int>::max();
}

/// Absent: nullopt; an object with all four members: the policy; anything else fails.
std::optional<domain::key_policy> read_opt_key_policy(field_reader& r, std::string_view name) {
  const rj::Value* v = r.member(name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsObject()) return r.fail<std::optional<domain::key_policy>>();
  field_reader inner(*v);
  const std::int64_t default_days = inner.integer("default_lifespan_days");
  const std::int64_t max_days = inner.integer("max_lifespan_days");
  domain::key_policy policy;
  policy.allow_no_expiry = inner.boolean("allow_no_expiry");
  policy.names_allow_spaces = inner.boolean("names_allow_spaces");
  if (!inner.ok() || !fits_days(default_days) || !fits_days(max_days)) {
    return r.fail<std::optional<domain::key_policy>>();
  }
  policy.default_lifespan = std::chrono::days{static_cast<int>(default_days)};
  policy.max_lifespan = std::chrono::days{static_cast<int>(max_days)};
  return policy;
}

std::optional<domain::key_created> decode_key_created(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_created e;
  e.key_id = r.string("key_id");
  e.workspace_id = r.string("workspace_id");
  e.name = r.string("name");
  e.env = read_environment(r, "environment");
  e.scopes = r.string_array("scopes");
  e.key_hash = r.string("key_hash");
  e.start = r.string("start");
  e.created_at = r.timestamp("created_at");
  // Since the lifecycle issue; absent in older payloads, which decode with these defaults
  // (no expiry, anywhere, no postback, logged, enabled, unlimited, not a rotation).
  e.expires_at = r.opt_timestamp_or_null("expires_at");
  e.allowed_cidrs = r.opt_string_array("allowed_cidrs").value_or(std::vector<std::string>{});
  e.postback_url = r.opt_string_or_null("postback_url").value_or("");
  e.off_the_record = r.opt_bool("off_the_record").value_or(false);
  e.enabled = r.opt_bool("enabled").value_or(true);
  e.limit = read_opt_rate_limit(r, "limit").value_or(std::nullopt);
  e.rotated_from = r.opt_string_or_null("rotated_from").value_or("");
  e.owner_user_id = r.opt_string_or_null("owner_user_id").value_or("");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_updated> decode_key_updated(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_updated e;
  e.key_id = r.string("key_id");
  e.name = r.opt_string("name");
  e.scopes = r.opt_string_array("scopes");
  e.allowed_cidrs = r.opt_string_array("allowed_cidrs");
  // null = removed, which the domain spells "".
  if (auto url = r.opt_string_or_null("postback_url")) {
    e.postback_url = std::move(url);
  } else if (r.has("postback_url")) {
    e.postback_url = std::string{};
  }
  e.off_the_record = r.opt_bool("off_the_record");
  e.limit = read_opt_rate_limit(r, "limit");
  e.updated_at = r.timestamp("updated_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_disabled> decode_key_disabled(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_disabled e;
  e.key_id = r.string("key_id");
  e.disabled_at = r.timestamp("disabled_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_enabled> decode_key_enabled(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_enabled e;
  e.key_id = r.string("key_id");
  e.enabled_at = r.timestamp("enabled_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_rotated> decode_key_rotated(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_rotated e;
  e.key_id = r.string("key_id");
  e.rotated_to = r.string("rotated_to");
  e.rotated_at = r.timestamp("rotated_at");
  e.grace_until = r.timestamp("grace_until");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_revoked> decode_key_revoked(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_revoked e;
  e.key_id = r.string("key_id");
  e.revoked_at = r.timestamp("revoked_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_expired> decode_key_expired(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_expired e;
  e.key_id = r.string("key_id");
  e.expired_at = r.timestamp("expired_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_expiry_approaching> decode_key_expiry_approaching(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_expiry_approaching e;
  e.key_id = r.string("key_id");
  e.expires_at = r.timestamp("expires_at");
  // Since the 1-day warning; older events are the 14-day one.
  if (r.has("days_before")) {
    const std::int64_t days = r.integer("days_before");
    if (days < 1 || days > 3650) return std::nullopt;
    e.days_before = static_cast<int>(days);
  }
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_leaked> decode_key_leaked(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_leaked e;
  e.key_id = r.string("key_id");
  e.url = r.string("url");
  e.source = r.string("source");
  const auto action = domain::parse_leak_response(r.string("action"));
  e.reported_at = r.timestamp("reported_at");
  if (!r.ok() || !action) return std::nullopt;
  e.action = *action;
  return e;
}

std::optional<domain::workspace_created> decode_workspace_created(const rj::Value& obj) {
  field_reader r(obj);
  domain::workspace_created e;
  e.workspace_id = r.string("workspace_id");
  e.name = r.string("name");
  e.key_prefix = r.string("key_prefix");
  e.created_at = r.timestamp("created_at");
  // Absent in workspaces created before the lifecycle issue: the default policy.
  e.policy = read_opt_key_policy(r, "key_policy").value_or(domain::key_policy{});
  e.scope_catalog = r.opt_string_array("scope_catalog").value_or(std::vector<std::string>{});
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::workspace_settings_changed> decode_workspace_settings_changed(
    const rj::Value& obj) {
  field_reader r(obj);
  domain::workspace_settings_changed e;
  e.workspace_id = r.string("workspace_id");
  e.policy = read_opt_key_policy(r, "key_policy");
  e.scope_catalog = r.opt_string_array("scope_catalog");
  e.changed_by = r.string("changed_by");
  e.changed_at = r.timestamp("changed_at");
  if (auto on_leak = r.opt_string("on_leak")) {
    e.on_leak = domain::parse_leak_action(*on_leak);
    if (!e.on_leak) return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return e;
}

template <class Event, std::optional<Event> (*Decode)(const rj::Value&)>
std::optional<domain::api_key_event> decode_as(const rj::Value& obj) {
  std::optional<Event> e = Decode(obj);
  if (!e) return std::nullopt;
  return domain::api_key_event{std::move(*e)};
}

using key_event_decoder = std::optional<domain::api_key_event> (*)(const rj::Value&);

// Every key event type by its stored name.
constexpr std::pair<std::string_view, key_event_decoder> key_event_decoders[] = {
    {"KeyCreated", decode_as<domain::key_created, decode_key_created>},
    {"KeyUpdated", decode_as<domain::key_updated, decode_key_updated>},
    {"KeyDisabled", decode_as<domain::key_disabled, decode_key_disabled>},
    {"KeyEnabled", decode_as<domain::key_enabled, decode_key_enabled>},
    {"KeyRotated", decode_as<domain::key_rotated, decode_key_rotated>},
    {"KeyRevoked", decode_as<domain::key_revoked, decode_key_revoked>},
    {"KeyExpired", decode_as<domain::key_expired, decode_key_expired>},
    {"KeyExpiryApproaching",
     decode_as<domain::key_expiry_approaching, decode_key_expiry_approaching>},
    {"KeyLeaked", decode_as<domain::key_leaked, decode_key_leaked>},
};

}  // namespace

std::string encode_payload(const domain::api_key_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::string encode_payload(const domain::workspace_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<domain::key_created> detail::decode_key_created_with_dom(std::string_view payload) {
  return detail::parse_and_decode<domain::key_created>(payload, decode_key_created);
}

std::optional<domain::api_key_event> decode_api_key_event(std::string_view type,
                                                          std::string_view payload) {
  if (type == "KeyCreated") {
    try {
      // The form the encoder writes, by a scan (a start-up decodes one per key); anything else
      // through the DOM, which decides.
      if (auto e = detail::decode_canonical_key_created(payload)) {
        return domain::api_key_event{std::move(*e)};
      }
    } catch (...) {
      return std::nullopt;  // allocation, as below
    }
  }
  key_event_decoder decode = nullptr;
  for (const auto& [name, decoder] : key_event_decoders) {
    if (name == type) decode = decoder;
  }
  if (decode == nullptr) return std::nullopt;
  try {
    detail::payload_document document;
    if (!parse_payload_object(payload, document)) return std::nullopt;
    const rj::Value& doc = document.doc();
    return decode(doc);
  } catch (...) {
    // Only allocation can throw here; "does not decode" is the documented answer.
    return std::nullopt;
  }
}

std::optional<domain::workspace_event> decode_workspace_event(std::string_view type,
                                                              std::string_view payload) {
  try {
    if (type != "WorkspaceCreated" && type != "WorkspaceSettingsChanged") return std::nullopt;
    detail::payload_document document;
    if (!parse_payload_object(payload, document)) return std::nullopt;
    const rj::Value& doc = document.doc();
    if (type == "WorkspaceCreated") {
      if (auto e = decode_workspace_created(doc)) return domain::workspace_event{std::move(*e)};
      return std::nullopt;
    }
    if (auto e = decode_workspace_settings_changed(doc)) {
      return domain::workspace_event{std::move(*e)};
    }
    return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

std::string encode_metadata(const event_metadata& m) {
  json_writer w;
  w.begin_object();
  if (!m.actor.empty()) w.field("actor", m.actor);
  if (!m.request_id.empty()) w.field("request_id", m.request_id);
  if (!m.source_ip.empty()) w.field("source_ip", m.source_ip);
  if (!m.idempotency_key.empty()) w.field("idempotency_key", m.idempotency_key);
  w.end_object();
  return w.take();
}

std::optional<event_metadata> decode_metadata(std::string_view text) {
  // Stored metadata was written by encode_metadata: small, flat, at most four members (a
  // request's Idempotency-Key is up to 255 bytes). The cap keeps the default string limit.
  auto body = json_body::parse(text);
  if (!body) return std::nullopt;
  event_metadata m;
  const std::pair<std::string_view, std::string*> members[] = {
      {"actor", &m.actor},
      {"request_id", &m.request_id},
      {"source_ip", &m.source_ip},
      {"idempotency_key", &m.idempotency_key}};
  for (const auto& [name, out] : members) {
    auto value = body->get_string(name);
    if (!value) return std::nullopt;
    if (value.value()) *out = std::move(*value.value());
  }
  return m;
}

}  // namespace keyledger::infra

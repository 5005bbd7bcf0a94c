#include "infra/json/oauth_codec.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <utility>
#include <variant>
#include <vector>

#include "infra/json/detail/payload_reader.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

namespace rj = rapidjson;
namespace oauth = domain::oauth;
using detail::field_reader;

// ---- encoding -----------------------------------------------------------------------------

void write_grants(json_writer& w, std::string_view name, const std::vector<oauth::grant_type>& g) {
  w.key(name).begin_array();
  for (const auto grant : g) w.string(oauth::to_string(grant));
  w.end_array();
}

void write_seconds(json_writer& w, std::string_view name, std::chrono::seconds s) {
  w.field(name, static_cast<std::int64_t>(s.count()));
}

void write_settings(json_writer& w, const oauth::client_settings& s) {
  w.key("settings").begin_object().field("name", s.name);
  write_string_array(w, "redirect_uris", s.redirect_uris);
  write_grants(w, "grant_types", s.grant_types);
  write_string_array(w, "allowed_scopes", s.allowed_scopes);
  write_seconds(w, "access_token_lifetime_seconds", s.access_token_lifetime);
  write_seconds(w, "refresh_idle_lifetime_seconds", s.refresh_idle_lifetime);
  write_seconds(w, "refresh_absolute_lifetime_seconds", s.refresh_absolute_lifetime);
  w.end_object();
}

std::string encode(const oauth::client_registered& e) {
  json_writer w;
  w.begin_object()
      .field("client_id", e.client_id)
      .field("workspace_id", e.workspace_id)
      .field("type", oauth::to_string(e.type));
  write_settings(w, e.settings);
  write_string_or_null(w, "secret_hash", e.secret_hash);
  w.field("registered_by", e.registered_by);
  write_timestamp(w, "registered_at", e.registered_at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::client_updated& e) {
  json_writer w;
  w.begin_object().field("client_id", e.client_id);
  // Only what the update changed; an absent member means "unchanged".
  const auto& c = e.changes;
  if (c.name) w.field("name", *c.name);
  if (c.redirect_uris) write_string_array(w, "redirect_uris", *c.redirect_uris);
  if (c.grant_types) write_grants(w, "grant_types", *c.grant_types);
  if (c.allowed_scopes) write_string_array(w, "allowed_scopes", *c.allowed_scopes);
  if (c.access_token_lifetime) {
    write_seconds(w, "access_token_lifetime_seconds", *c.access_token_lifetime);
  }
  if (c.refresh_idle_lifetime) {
    write_seconds(w, "refresh_idle_lifetime_seconds", *c.refresh_idle_lifetime);
  }
  if (c.refresh_absolute_lifetime) {
    write_seconds(w, "refresh_absolute_lifetime_seconds", *c.refresh_absolute_lifetime);
  }
  write_timestamp(w, "updated_at", e.updated_at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::client_secret_rotated& e) {
  json_writer w;
  w.begin_object().field("client_id", e.client_id).field("secret_hash", e.secret_hash);
  write_timestamp(w, "previous_valid_until", e.previous_valid_until);
  write_timestamp(w, "rotated_at", e.rotated_at);
  w.end_object();
  return w.take();
}

template <class Event>
std::string encode_simple(const Event& e) {
  json_writer w;
  w.begin_object().field("client_id", e.client_id);
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::client_disabled& e) { return encode_simple(e); }
std::string encode(const oauth::client_enabled& e) { return encode_simple(e); }
std::string encode(const oauth::client_deleted& e) { return encode_simple(e); }

// ---- decoding -----------------------------------------------------------------------------

std::optional<std::vector<oauth::grant_type>> read_grants(field_reader& r, std::string_view name,
                                                          bool required) {
  auto texts = required ? std::optional(r.string_array(name)) : r.opt_string_array(name);
  if (!r.ok() || !texts) return std::nullopt;
  std::vector<oauth::grant_type> out;
  for (const auto& t : *texts) {
    const auto g = oauth::parse_grant_type(t);
    if (!g) return r.fail<std::optional<std::vector<oauth::grant_type>>>();
    out.push_back(*g);
  }
  return out;
}

std::optional<std::chrono::seconds> read_seconds(field_reader& r, std::string_view name,
                                                 bool required) {
  if (!required && !r.has(name)) return std::nullopt;
  const auto n = r.integer(name);
  if (!r.ok()) return std::nullopt;
  return std::chrono::seconds(n);
}

std::optional<oauth::client_event> decode_registered(const rj::Value& obj) {
  field_reader r(obj);
  oauth::client_registered e;
  e.client_id = r.string("client_id");
  e.workspace_id = r.string("workspace_id");
  const auto type = oauth::parse_client_type(r.string("type"));
  if (!type) return std::nullopt;
  e.type = *type;
  const auto* settings = r.member("settings");
  if (settings == nullptr || !settings->IsObject()) return std::nullopt;
  field_reader s(*settings);
  e.settings.name = s.string("name");
  e.settings.redirect_uris = s.string_array("redirect_uris");
  auto grants = read_grants(s, "grant_types", true);
  e.settings.allowed_scopes = s.string_array("allowed_scopes");
  auto access = read_seconds(s, "access_token_lifetime_seconds", true);
  auto idle = read_seconds(s, "refresh_idle_lifetime_seconds", true);
  auto absolute = read_seconds(s, "refresh_absolute_lifetime_seconds", true);
  if (!s.ok() || !grants || !access || !idle || !absolute) return std::nullopt;
  e.settings.grant_types = std::move(*grants);
  e.settings.access_token_lifetime = *access;
  e.settings.refresh_idle_lifetime = *idle;
  e.settings.refresh_absolute_lifetime = *absolute;
  e.secret_hash = r.nullable_string("secret_hash").value_or(std::string());
  e.registered_by = r.string("registered_by");
  e.registered_at = r.timestamp("registered_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::client_event> decode_updated(const rj::Value& obj) {
  field_reader r(obj);
  oauth::client_updated e;
  e.client_id = r.string("client_id");
  auto& c = e.changes;
  c.name = r.opt_string("name");
  c.redirect_uris = r.opt_string_array("redirect_uris");
  c.grant_types = read_grants(r, "grant_types", false);
  c.allowed_scopes = r.opt_string_array("allowed_scopes");
  c.access_token_lifetime = read_seconds(r, "access_token_lifetime_seconds", false);
  c.refresh_idle_lifetime = read_seconds(r, "refresh_idle_lifetime_seconds", false);
  c.refresh_absolute_lifetime = read_seconds(r, "refresh_absolute_lifetime_seconds", false);
  e.updated_at = r.timestamp("updated_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::client_event> decode_rotated(const rj::Value& obj) {
  field_reader r(obj);
  oauth::client_secret_rotated e;
  e.client_id = r.string("client_id");
  e.secret_hash = r.string("secret_hash");
  e.previous_valid_until = r.timestamp("previous_valid_until");
  e.rotated_at = r.timestamp("rotated_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

template <class Event>
std::optional<oauth::client_event> decode_simple(const rj::Value& obj) {
  field_reader r(obj);
  Event e;
  e.client_id = r.string("client_id");
  e.at = r.timestamp("at");
  if (!r.ok()) return std::nullopt;
  return oauth::client_event{std::move(e)};
}

}  // namespace

std::string encode_payload(const oauth::client_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<oauth::client_event> decode_client_event(std::string_view type,
                                                       std::string_view payload) {
  detail::decoder<oauth::client_event> decode = nullptr;
  if (type == "ClientRegistered") decode = decode_registered;
  if (type == "ClientUpdated") decode = decode_updated;
  if (type == "ClientSecretRotated") decode = decode_rotated;
  if (type == "ClientDisabled") decode = decode_simple<oauth::client_disabled>;
  if (type == "ClientEnabled") decode = decode_simple<oauth::client_enabled>;
  if (type == "ClientDeleted") decode = decode_simple<oauth::client_deleted>;
  return detail::parse_and_decode(payload, decode);
}

}  // namespace keyledger::infra

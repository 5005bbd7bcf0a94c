#include "infra/json/grant_codec.hpp"

#include <rapidjson/document.h>

#include <utility>
#include <variant>

#include "infra/json/detail/payload_reader.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

namespace rj = rapidjson;
namespace oauth = domain::oauth;
using detail::field_reader;

// ---- encoding -----------------------------------------------------------------------------

std::string encode(const oauth::grant_created& e) {
  json_writer w;
  w.begin_object()
      .field("grant_id", e.grant_id)
      .field("client_id", e.client_id)
      .field("user_id", e.user_id)
      .field("workspace_id", e.workspace_id);
  write_string_array(w, "scopes", e.scopes);
  write_timestamp(w, "created_at", e.created_at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::grant_extended& e) {
  json_writer w;
  w.begin_object().field("grant_id", e.grant_id);
  write_string_array(w, "scopes", e.scopes);
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::code_issued& e) {
  json_writer w;
  w.begin_object()
      .field("grant_id", e.grant_id)
      .field("code_hash", e.code_hash)
      .field("redirect_uri", e.redirect_uri)
      .field("code_challenge", e.code_challenge);
  write_string_array(w, "scopes", e.scopes);
  write_string_or_null(w, "resource", e.resource);
  write_timestamp(w, "issued_at", e.issued_at);
  write_timestamp(w, "expires_at", e.expires_at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::code_redeemed& e) {
  json_writer w;
  w.begin_object()
      .field("grant_id", e.grant_id)
      .field("code_hash", e.code_hash)
      .field("family_id", e.family_id);
  write_string_or_null(w, "refresh_hash", e.refresh_hash);
  write_timestamp(w, "at", e.at);
  write_timestamp(w, "idle_expires_at", e.idle_expires_at);
  write_timestamp(w, "absolute_expires_at", e.absolute_expires_at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::refresh_rotated& e) {
  json_writer w;
  w.begin_object()
      .field("grant_id", e.grant_id)
      .field("family_id", e.family_id)
      .field("refresh_hash", e.refresh_hash);
  write_timestamp(w, "at", e.at);
  write_timestamp(w, "idle_expires_at", e.idle_expires_at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::family_revoked& e) {
  json_writer w;
  w.begin_object()
      .field("grant_id", e.grant_id)
      .field("family_id", e.family_id)
      .field("reason", oauth::to_string(e.reason));
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::grant_revoked& e) {
  json_writer w;
  w.begin_object().field("grant_id", e.grant_id).field("revoked_by", e.revoked_by);
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

// ---- decoding -----------------------------------------------------------------------------

std::optional<oauth::grant_event> decode_created(const rj::Value& obj) {
  field_reader r(obj);
  oauth::grant_created e;
  e.grant_id = r.string("grant_id");
  e.client_id = r.string("client_id");
  e.user_id = r.string("user_id");
  e.workspace_id = r.string("workspace_id");
  e.scopes = r.string_array("scopes");
  e.created_at = r.timestamp("created_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::grant_event> decode_extended(const rj::Value& obj) {
  field_reader r(obj);
  oauth::grant_extended e;
  e.grant_id = r.string("grant_id");
  e.scopes = r.string_array("scopes");
  e.at = r.timestamp("at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::grant_event> decode_issued(const rj::Value& obj) {
  field_reader r(obj);
  oauth::code_issued e;
  e.grant_id = r.string("grant_id");
  e.code_hash = r.string("code_hash");
  e.redirect_uri = r.string("redirect_uri");
  e.code_challenge = r.string("code_challenge");
  e.scopes = r.string_array("scopes");
  e.resource = r.nullable_string("resource").value_or(std::string());
  e.issued_at = r.timestamp("issued_at");
  e.expires_at = r.timestamp("expires_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::grant_event> decode_redeemed(const rj::Value& obj) {
  field_reader r(obj);
  oauth::code_redeemed e;
  e.grant_id = r.string("grant_id");
  e.code_hash = r.string("code_hash");
  e.family_id = r.string("family_id");
  e.refresh_hash = r.nullable_string("refresh_hash").value_or(std::string());
  e.at = r.timestamp("at");
  e.idle_expires_at = r.timestamp("idle_expires_at");
  e.absolute_expires_at = r.timestamp("absolute_expires_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::grant_event> decode_rotated(const rj::Value& obj) {
  field_reader r(obj);
  oauth::refresh_rotated e;
  e.grant_id = r.string("grant_id");
  e.family_id = r.string("family_id");
  e.refresh_hash = r.string("refresh_hash");
  e.at = r.timestamp("at");
  e.idle_expires_at = r.timestamp("idle_expires_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::grant_event> decode_family_revoked(const rj::Value& obj) {
  field_reader r(obj);
  oauth::family_revoked e;
  e.grant_id = r.string("grant_id");
  e.family_id = r.string("family_id");
  const auto reason = oauth::parse_family_end(r.string("reason"));
  e.at = r.timestamp("at");
  if (!r.ok() || !reason) return std::nullopt;
  e.reason = *reason;
  return e;
}

std::optional<oauth::grant_event> decode_grant_revoked(const rj::Value& obj) {
  field_reader r(obj);
  oauth::grant_revoked e;
  e.grant_id = r.string("grant_id");
  e.revoked_by = r.string("revoked_by");
  e.at = r.timestamp("at");
  if (!r.ok()) return std::nullopt;
  return e;
}

}  // namespace

std::string encode_payload(const oauth::grant_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<oauth::grant_event> decode_grant_event(std::string_view type,
                                                     std::string_view payload) {
  detail::decoder<oauth::grant_event> decode = nullptr;
  if (type == "GrantCreated") decode = decode_created;
  if (type == "GrantExtended") decode = decode_extended;
  if (type == "CodeIssued") decode = decode_issued;
  if (type == "CodeRedeemed") decode = decode_redeemed;
  if (type == "RefreshRotated") decode = decode_rotated;
  if (type == "FamilyRevoked") decode = decode_family_revoked;
  if (type == "GrantRevoked") decode = decode_grant_revoked;
  return detail::parse_and_decode(payload, decode);
}

}  // namespace keyledger::infra

#include "infra/json/user_codec.hpp"

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "domain/overloaded.hpp"
#include "infra/json/detail/payload_reader.hpp"
#include "infra/json/json.hpp"

// Members are written in the order of the tables in docs/users-and-roles.md; every member a
// type defines is always written (an absent invite expiry as null), so a payload says
// everything.

namespace keyledger::infra {

namespace {

namespace rj = rapidjson;
using detail::decoder;
using detail::field_reader;
using detail::parse_and_decode;
using detail::parse_payload_object;

// ---- encoding -----------------------------------------------------------------------------

std::string encode(const domain::user_registered& e) {
  json_writer w;
  w.begin_object()
      .field("user_id", e.user_id)
      .field("email", e.email)
      .field("display_name", e.display_name);
  write_timestamp(w, "registered_at", e.registered_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::user_password_set& e) {
  json_writer w;
  w.begin_object().field("user_id", e.user_id);
  write_timestamp(w, "set_at", e.set_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::user_display_name_changed& e) {
  json_writer w;
  w.begin_object().field("user_id", e.user_id).field("display_name", e.display_name);
  write_timestamp(w, "changed_at", e.changed_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::member_invited& e) {
  json_writer w;
  w.begin_object()
      .field("workspace_id", e.workspace_id)
      .field("user_id", e.user_id)
      .field("role", domain::to_string(e.member_role))
      .field("invited_by", e.invited_by);
  write_timestamp(w, "invited_at", e.invited_at);
  write_timestamp_or_null(w, "invite_expires_at", e.invite_expires_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::member_role_changed& e) {
  json_writer w;
  w.begin_object()
      .field("workspace_id", e.workspace_id)
      .field("user_id", e.user_id)
      .field("from", domain::to_string(e.from))
      .field("to", domain::to_string(e.to))
      .field("changed_by", e.changed_by);
  write_timestamp(w, "changed_at", e.changed_at);
  w.end_object();
  return w.take();
}

std::string encode(const domain::member_removed& e) {
  json_writer w;
  w.begin_object()
      .field("workspace_id", e.workspace_id)
      .field("user_id", e.user_id)
      .field("removed_by", e.removed_by);
  write_timestamp(w, "removed_at", e.removed_at);
  w.end_object();
  return w.take();
}

// ---- decoding -----------------------------------------------------------------------------

// Strict, as detail::field_reader reads: a member the type defines that is missing, repeated,
// of the wrong type or with a value that does not parse makes the payload not decodable.

domain::role read_role(field_reader& r, std::string_view name) {
  const std::string text = r.string(name);
  if (!r.ok()) return {};
  const auto role = domain::parse_role(text);
  if (!role) return r.fail<domain::role>();
  return *role;
}

std::optional<domain::user_event> decode_user_registered(const rj::Value& obj) {
  field_reader r(obj);
  domain::user_registered e;
  e.user_id = r.string("user_id");
  e.email = r.string("email");
  e.display_name = r.string("display_name");
  e.registered_at = r.timestamp("registered_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::user_event> decode_user_password_set(const rj::Value& obj) {
  field_reader r(obj);
  domain::user_password_set e;
  e.user_id = r.string("user_id");
  e.set_at = r.timestamp("set_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::user_event> decode_user_display_name_changed(const rj::Value& obj) {
  field_reader r(obj);
  domain::user_display_name_changed e;
  e.user_id = r.string("user_id");
  e.display_name = r.string("display_name");
  e.changed_at = r.timestamp("changed_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::member_event> decode_member_invited(const rj::Value& obj) {
  field_reader r(obj);
  domain::member_invited e;
  e.workspace_id = r.string("workspace_id");
  e.user_id = r.string("user_id");
  e.member_role = read_role(r, "role");
  e.invited_by = r.string("invited_by");
  e.invited_at = r.timestamp("invited_at");
  e.invite_expires_at = r.nullable_timestamp("invite_expires_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::member_event> decode_member_role_changed(const rj::Value& obj) {
  field_reader r(obj);
  domain::member_role_changed e;
  e.workspace_id = r.string("workspace_id");
  e.user_id = r.string("user_id");
  e.from = read_role(r, "from");
  e.to = read_role(r, "to");
  e.changed_by = r.string("changed_by");
  e.changed_at = r.timestamp("changed_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::member_event> decode_member_removed(const rj::Value& obj) {
  field_reader r(obj);
  domain::member_removed e;
  e.workspace_id = r.string("workspace_id");
  e.user_id = r.string("user_id");
  e.removed_by = r.string("removed_by");
  e.removed_at = r.timestamp("removed_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

}  // namespace

std::string encode_payload(const domain::user_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::string encode_payload(const domain::member_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<domain::user_event> decode_user_event(std::string_view type,
                                                    std::string_view payload) {
  decoder<domain::user_event> decode = nullptr;
  if (type == "UserRegistered") {
    decode = decode_user_registered;
  } else if (type == "UserPasswordSet") {
    decode = decode_user_password_set;
  } else if (type == "UserDisplayNameChanged") {
    decode = decode_user_display_name_changed;
  }
  return parse_and_decode(payload, decode);
}

std::optional<domain::member_event> decode_member_event(std::string_view type,
                                                        std::string_view payload) {
  decoder<domain::member_event> decode = nullptr;
  if (type == "MemberInvited") {
    decode = decode_member_invited;
  } else if (type == "MemberRoleChanged") {
    decode = decode_member_role_changed;
  } else if (type == "MemberRemoved") {
    decode = decode_member_removed;
  }
  return parse_and_decode(payload, decode);
}

}  // namespace keyledger::infra

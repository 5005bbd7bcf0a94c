#include "infra/json/signing_key_codec.hpp"

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

std::string encode(const oauth::signing_key_created& e) {
  json_writer w;
  w.begin_object().field("kid", e.kid).field("alg", e.alg).field("public_jwk", e.public_jwk);
  write_timestamp(w, "created_at", e.created_at);
  write_timestamp(w, "activate_after", e.activate_after);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::signing_key_activated& e) {
  json_writer w;
  w.begin_object().field("kid", e.kid);
  write_timestamp(w, "at", e.at);
  w.end_object();
  return w.take();
}

std::string encode(const oauth::signing_key_retired& e) {
  json_writer w;
  w.begin_object().field("kid", e.kid);
  write_timestamp(w, "at", e.at);
  write_timestamp(w, "publish_until", e.publish_until);
  w.end_object();
  return w.take();
}

// ---- decoding -----------------------------------------------------------------------------

std::optional<oauth::signing_key_event> decode_created(const rj::Value& obj) {
  field_reader r(obj);
  oauth::signing_key_created e;
  e.kid = r.string("kid");
  e.alg = r.string("alg");
  e.public_jwk = r.string("public_jwk");
  e.created_at = r.timestamp("created_at");
  e.activate_after = r.timestamp("activate_after");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::signing_key_event> decode_activated(const rj::Value& obj) {
  field_reader r(obj);
  oauth::signing_key_activated e;
  e.kid = r.string("kid");
  e.at = r.timestamp("at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<oauth::signing_key_event> decode_retired(const rj::Value& obj) {
  field_reader r(obj);
  oauth::signing_key_retired e;
  e.kid = r.string("kid");
  e.at = r.timestamp("at");
  e.publish_until = r.timestamp("publish_until");
  if (!r.ok()) return std::nullopt;
  return e;
}

}  // namespace

std::string encode_payload(const oauth::signing_key_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<oauth::signing_key_event> decode_signing_key_event(std::string_view type,
                                                                 std::string_view payload) {
  detail::decoder<oauth::signing_key_event> decode = nullptr;
  if (type == "SigningKeyCreated") decode = decode_created;
  if (type == "SigningKeyActivated") decode = decode_activated;
  if (type == "SigningKeyRetired") decode = decode_retired;
  return detail::parse_and_decode(payload, decode);
}

}  // namespace keyledger::infra

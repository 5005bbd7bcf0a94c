#include "infra/json/token_codec.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <string_view>

#include "domain/text.hpp"
#include "infra/json/detail/payload_reader.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

namespace rj = rapidjson;
namespace oauth = domain::oauth;

std::int64_t seconds_of(domain::timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

domain::timestamp from_seconds(std::int64_t s) {
  return domain::timestamp(std::chrono::seconds(s));
}

std::optional<oauth::access_token_event> decode_revoked(const rj::Value& obj) {
  detail::field_reader r(obj);
  oauth::access_token_revoked e;
  e.jti = r.string("jti");
  e.client_id = r.string("client_id");
  e.workspace_id = r.string("workspace_id");
  e.expires_at = r.timestamp("expires_at");
  e.at = r.timestamp("at");
  if (!r.ok()) return std::nullopt;
  return e;
}

// The latest NumericDate an RFC 3339 timestamp can spell (9999-12-31T23:59:59Z).
constexpr std::int64_t max_numeric_date = 253'402'300'799;

// The NumericDate members: integers only (a fraction is not ours), from 0 to max_numeric_date.
// Unbounded, a huge one overflowed when made microseconds (signed overflow, UB; found by
// tests/fuzz event_codecs).
std::optional<std::int64_t> numeric_date(const rj::Value& obj, const char* name) {
  const auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  const std::int64_t v = it->value.GetInt64();
  if (v < 0 || v > max_numeric_date) return std::nullopt;
  return v;
}

std::optional<std::string> string_member(const rj::Value& obj, const char* name) {
  const auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<oauth::access_token_claims> decode_claims_object(const rj::Value& obj) {
  static constexpr std::string_view known[] = {
      "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "workspace_id", "sid"};
  // Nothing but these, each at most once: a claims set with a duplicate member is refused
  // (RFC 7519 4: names must be unique; RFC 7515 5.2's "reject" of the two choices), so no
  // parser can read another value than the one we check here.
  unsigned seen = 0;
  for (const auto& m : obj.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const auto* at = std::find(std::begin(known), std::end(known), name);
    if (at == std::end(known)) return std::nullopt;
    const unsigned bit = 1u << (at - std::begin(known));
    if ((seen & bit) != 0) return std::nullopt;
    seen |= bit;
  }
  oauth::access_token_claims c;
  auto iss = string_member(obj, "iss");
  auto sub = string_member(obj, "sub");
  auto aud = string_member(obj, "aud");
  auto jti = string_member(obj, "jti");
  auto client_id = string_member(obj, "client_id");
  auto scope = string_member(obj, "scope");
  auto workspace = string_member(obj, "workspace_id");
  const auto exp = numeric_date(obj, "exp");
  const auto nbf = numeric_date(obj, "nbf");
  const auto iat = numeric_date(obj, "iat");
  if (!iss || !sub || !aud || !jti || !client_id || !scope || !workspace || !exp || !nbf || !iat ||
      *nbf != *iat) {
    return std::nullopt;
  }
  if (obj.HasMember("sid")) {
    auto sid = string_member(obj, "sid");
    if (!sid || sid->empty()) return std::nullopt;
    c.session_id = std::move(*sid);
  }
  c.issuer = std::move(*iss);
  c.subject = std::move(*sub);
  c.audience = std::move(*aud);
  c.jti = std::move(*jti);
  c.client_id = std::move(*client_id);
  c.workspace_id = std::move(*workspace);
  std::string_view rest = *scope;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    c.scopes.emplace_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  c.issued_at = from_seconds(*iat);
  c.expires_at = from_seconds(*exp);
  return c;
}

}  // namespace

std::string encode_claims(const oauth::access_token_claims& c) {
  return encode_claims(claims_to_sign{c.issuer, c.subject, c.audience, c.client_id, c.scopes,
                                      c.workspace_id, c.session_id, c.jti, c.issued_at,
                                      c.expires_at});
}

std::string encode_claims(const claims_to_sign& c) {
  const auto iat = seconds_of(c.issued_at);
  std::string scope;
  for (const auto& s : c.scopes) {
    if (!scope.empty()) scope += ' ';
    scope += s;
  }
  json_writer w;
  w.begin_object()
      .field("iss", c.issuer)
      .field("sub", c.subject)
      .field("aud", c.audience)
      .field("exp", seconds_of(c.expires_at))
      .field("nbf", iat)
      .field("iat", iat)
      .field("jti", c.jti)
      .field("client_id", c.client_id)
      .field("scope", scope)
      .field("workspace_id", c.workspace_id);
  if (!c.session_id.empty()) w.field("sid", c.session_id);
  w.end_object();
  return w.take();
}

std::optional<oauth::access_token_claims> decode_claims(std::string_view json) {
  return detail::parse_and_decode<oauth::access_token_claims>(json, decode_claims_object);
}

std::string encode_payload(const oauth::access_token_event& e) {
  const auto& r = std::get<oauth::access_token_revoked>(e);
  json_writer w;
  w.begin_object()
      .field("jti", r.jti)
      .field("client_id", r.client_id)
      .field("workspace_id", r.workspace_id);
  write_timestamp(w, "expires_at", r.expires_at);
  write_timestamp(w, "at", r.at);
  w.end_object();
  return w.take();
}

std::optional<oauth::access_token_event> decode_access_token_event(std::string_view type,
                                                                   std::string_view payload) {
  detail::decoder<oauth::access_token_event> decode = nullptr;
  if (type == "AccessTokenRevoked") decode = decode_revoked;
  return detail::parse_and_decode(payload, decode);
}

}  // namespace keyledger::infra

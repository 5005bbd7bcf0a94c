// OAuth grant event payloads: round trips, the exact stored bytes of each event, and refusals
// of every member missing, mistyped or null where null means nothing.
#include "infra/json/grant_codec.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <functional>
#include <string>
#include <vector>

namespace keyledger::infra {
namespace {

namespace oauth = domain::oauth;
namespace rj = rapidjson;

domain::timestamp at(std::int64_t seconds) {
  return domain::timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

const std::string grant = "grt_0123456789abcdefghijkl";
const std::string family = "rtf_0123456789abcdefghijkl";
const std::string code_hash(64, 'c');
const std::string refresh_hash(64, 'a');
const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

oauth::grant_created created() {
  return {grant,
          "cli_0123456789abcdefghijkl",
          "usr_0123456789abcdefghijkl",
          "ws_0123456789abcdefghijkl",
          {"leads:read", "leads:write"},
          at(0)};
}
oauth::code_issued issued(std::string resource = "https://api.example.com/") {
  return {grant, code_hash, "https://app.example.com/cb", challenge, {"leads:read"}, resource,
          at(2), at(62)};
}
oauth::code_redeemed redeemed(std::string refresh = refresh_hash) {
  return {grant, code_hash, family, refresh, at(3), at(3 + 86400), at(3 + 7 * 86400)};
}

/// One event of each type, as the exact bytes the log stores.
struct stored {
  oauth::grant_event event;
  std::string payload;
};

std::vector<stored> one_of_each() {
  return {
      {created(),
       R"({"grant_id":"grt_0123456789abcdefghijkl","client_id":"cli_0123456789abcdefghijkl",)"
       R"("user_id":"usr_0123456789abcdefghijkl","workspace_id":"ws_0123456789abcdefghijkl",)"
       R"("scopes":["leads:read","leads:write"],"created_at":"2027-01-15T08:00:00.000000Z"})"},
      {oauth::grant_extended{grant, {"leads:read", "leads:write", "proposals:read"}, at(1)},
       R"({"grant_id":"grt_0123456789abcdefghijkl",)"
       R"("scopes":["leads:read","leads:write","proposals:read"],)"
       R"("at":"2027-01-15T08:00:01.000000Z"})"},
      {issued(), R"({"grant_id":"grt_0123456789abcdefghijkl","code_hash":")" + code_hash +
                     R"(","redirect_uri":"https://app.example.com/cb",)"
                     R"("code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",)"
                     R"("scopes":["leads:read"],"resource":"https://api.example.com/",)"
                     R"("issued_at":"2027-01-15T08:00:02.000000Z",)"
                     R"("expires_at":"2027-01-15T08:01:02.000000Z"})"},
      {redeemed(), R"({"grant_id":"grt_0123456789abcdefghijkl","code_hash":")" + code_hash +
                       R"(","family_id":"rtf_0123456789abcdefghijkl","refresh_hash":")" +
                       refresh_hash +
                       R"(","at":"2027-01-15T08:00:03.000000Z",)"
                       R"("idle_expires_at":"2027-01-16T08:00:03.000000Z",)"
                       R"("absolute_expires_at":"2027-01-22T08:00:03.000000Z"})"},
      {oauth::refresh_rotated{grant, family, std::string(64, 'b'), at(4), at(4 + 86400)},
       R"({"grant_id":"grt_0123456789abcdefghijkl","family_id":"rtf_0123456789abcdefghijkl",)"
       R"("refresh_hash":")" +
           std::string(64, 'b') +
           R"(","at":"2027-01-15T08:00:04.000000Z",)"
           R"("idle_expires_at":"2027-01-16T08:00:04.000000Z"})"},
      {oauth::family_revoked{grant, family, oauth::family_end::refresh_reused, at(5)},
       R"({"grant_id":"grt_0123456789abcdefghijkl","family_id":"rtf_0123456789abcdefghijkl",)"
       R"("reason":"refresh_reused","at":"2027-01-15T08:00:05.000000Z"})"},
      {oauth::grant_revoked{grant, "usr_0123456789abcdefghijkl", at(6)},
       R"({"grant_id":"grt_0123456789abcdefghijkl","revoked_by":"usr_0123456789abcdefghijkl",)"
       R"("at":"2027-01-15T08:00:06.000000Z"})"},
  };
}

void round_trips(const oauth::grant_event& e) {
  const auto payload = encode_payload(e);
  EXPECT_EQ(encode_payload(e), payload) << "deterministic";
  const auto back = decode_grant_event(oauth::event_type(e), payload);
  ASSERT_TRUE(back) << payload;
  EXPECT_EQ(*back, e) << payload;
}

/// `payload` with its top-level member `name` changed by `edit` (which may remove it).
std::string edited(const std::string& payload, const std::string& name,
                   const std::function<void(rj::Document&, const std::string&)>& edit) {
  rj::Document doc;
  doc.Parse(payload.c_str());
  edit(doc, name);
  rj::StringBuffer out;
  rj::Writer<rj::StringBuffer> w(out);
  doc.Accept(w);
  return out.GetString();
}

std::vector<std::string> member_names(const std::string& payload) {
  rj::Document doc;
  doc.Parse(payload.c_str());
  std::vector<std::string> names;
  for (const auto& m : doc.GetObject()) names.emplace_back(m.name.GetString());
  return names;
}

TEST(grant_codec, every_event_round_trips) {
  for (const auto& s : one_of_each()) round_trips(s.event);
  round_trips(issued(""));    // no resource requested
  round_trips(redeemed(""));  // a client without the refresh_token grant
  for (const auto r : {oauth::family_end::code_reused, oauth::family_end::refresh_reused,
                       oauth::family_end::revoked, oauth::family_end::user_removed}) {
    round_trips(oauth::family_revoked{grant, family, r, at(9)});
  }
}

TEST(grant_codec, the_stored_bytes_of_each_event_are_fixed) {
  for (const auto& s : one_of_each()) {
    EXPECT_EQ(encode_payload(s.event), s.payload) << oauth::event_type(s.event);
    EXPECT_EQ(decode_grant_event(oauth::event_type(s.event), s.payload), s.event);
  }
}

TEST(grant_codec, none_is_null_for_no_resource_and_no_refresh_token) {
  const auto code = encode_payload(issued(""));
  EXPECT_NE(code.find(R"("resource":null,)"), std::string::npos) << code;
  const auto family_payload = encode_payload(redeemed(""));
  EXPECT_NE(family_payload.find(R"("refresh_hash":null,)"), std::string::npos) << family_payload;
  // A stored "" reads as none too.
  const auto empty = edited(code, "resource", [](rj::Document& d, const std::string& n) {
    d[n.c_str()].SetString("", d.GetAllocator());
  });
  EXPECT_EQ(decode_grant_event("CodeIssued", empty), oauth::grant_event{issued("")});
}

TEST(grant_codec, every_member_is_required_and_typed) {
  for (const auto& s : one_of_each()) {
    const auto type = oauth::event_type(s.event);
    for (const auto& name : member_names(s.payload)) {
      const auto missing = edited(s.payload, name, [](rj::Document& d, const std::string& n) {
        d.RemoveMember(n.c_str());
      });
      EXPECT_FALSE(decode_grant_event(type, missing)) << type << " without " << name;
      const auto number = edited(
          s.payload, name, [](rj::Document& d, const std::string& n) { d[n.c_str()].SetInt(1); });
      EXPECT_FALSE(decode_grant_event(type, number)) << type << " with a number " << name;
      const auto null = edited(
          s.payload, name, [](rj::Document& d, const std::string& n) { d[n.c_str()].SetNull(); });
      const bool may_be_null = name == "resource" || name == "refresh_hash";
      const bool nullable_here = may_be_null && type != "RefreshRotated";
      EXPECT_EQ(decode_grant_event(type, null).has_value(), nullable_here)
          << type << " with null " << name;
    }
  }
}

TEST(grant_codec, bad_times_bad_reasons_repeated_members_and_non_payloads_are_refused) {
  const auto revoked = one_of_each()[5].payload;  // FamilyRevoked
  EXPECT_TRUE(decode_grant_event("FamilyRevoked", revoked));
  const auto with = [&](const std::string& from, const std::string& to) {
    auto p = revoked;
    p.replace(p.find(from), from.size(), to);
    return p;
  };
  EXPECT_FALSE(decode_grant_event("FamilyRevoked", with("2027-01-15T08:00:05.000000Z", "soon")));
  EXPECT_FALSE(decode_grant_event("FamilyRevoked", with("08:00:05.000000Z", "08:00:05")));
  EXPECT_FALSE(decode_grant_event("FamilyRevoked", with("refresh_reused", "Refresh_Reused")));
  EXPECT_FALSE(decode_grant_event("FamilyRevoked", with("refresh_reused", "expired")));
  EXPECT_FALSE(decode_grant_event("FamilyRevoked", with(R"("at":)", R"("at":"x","at":)")));
  const auto scopes = one_of_each()[1].payload;  // GrantExtended
  auto mixed = scopes;
  mixed.replace(mixed.find(R"("leads:read")"), 12, "7");
  EXPECT_FALSE(decode_grant_event("GrantExtended", mixed));
  EXPECT_FALSE(decode_grant_event("GrantExtended", scopes + "x"));  // trailing bytes
  EXPECT_FALSE(decode_grant_event("GrantExtended", "[]"));
  EXPECT_FALSE(decode_grant_event("GrantExtended", ""));
  EXPECT_FALSE(decode_grant_event("GrantExtended", "not json"));
  // Another stream's type, or a grant type spelled otherwise, is not a grant event.
  EXPECT_FALSE(decode_grant_event("ClientDeleted", scopes));
  EXPECT_FALSE(decode_grant_event("grantextended", scopes));
}

TEST(grant_codec, members_a_type_does_not_define_are_ignored_as_in_every_codec) {
  // docs/events.md: a newer writer may add an optional member; an older reader still reads.
  const auto s = one_of_each()[6];  // GrantRevoked
  auto newer = s.payload;
  newer.insert(newer.size() - 1, R"(,"reason_text":"moved on")");
  EXPECT_EQ(decode_grant_event("GrantRevoked", newer), s.event);
}

}  // namespace
}  // namespace keyledger::infra

// What happens to tokens after they are issued: introspection scoped to its caller (and API
// keys), tokens that end with their person's membership or their client, revocation of refresh
// families and access tokens, and a person's authorized apps.
#include "tests/unit/services/http/oauth_flow_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

class oauth_tokens_test : public oauth_flow_test {};

TEST_F(oauth_tokens_test, introspection_is_scoped_to_the_caller_and_knows_api_keys) {
  auto t = exchange(code_for());
  const std::string at = t["access_token"].GetString();
  // Another workspace's client sees nothing.
  auto globex = bootstrap("globex", "gx", {"leads:read"});
  auto other = call("POST", "/v1/oauth/clients",
                    R"({"type":"confidential","name":"G","grant_types":["client_credentials"]})",
                    json_with(globex.key));
  const auto other_auth =
      basic_auth(string_field(other.body, "id"), string_field(other.body, "client_secret"));
  EXPECT_FALSE(introspect(at, {{"Authorization", other_auth}})["active"].GetBool());
  // A key with oauth:introspect in the token's workspace sees it; a key without the scope is
  // refused; an API key of the workspace is introspected too.
  auto rs = create(R"({"name":"rs","environment":"live","scopes":["oauth:introspect"]})");
  auto by_key = introspect(at, {{"Authorization", "Bearer " + rs.key}});
  EXPECT_TRUE(by_key["active"].GetBool());
  auto plain = create(R"({"name":"p","environment":"live","scopes":["leads:read"]})");
  EXPECT_EQ(
      form_post("/oauth/introspect", "token=" + at, {{"Authorization", "Bearer " + plain.key}})
          .status,
      401u);
  auto key = introspect(plain.key, {{"Authorization", "Bearer " + rs.key}});
  EXPECT_TRUE(key["active"].GetBool());
  EXPECT_EQ(std::string(key["token_type"].GetString()), "api_key");
  EXPECT_EQ(std::string(key["key_id"].GetString()), plain.id);
  EXPECT_EQ(std::string(key["environment"].GetString()), "live");
  EXPECT_FALSE(introspect(plain.key, {{"Authorization", other_auth}})["active"].GetBool());
  // Forged tokens: alg none, another header, garbage.
  const auto payload = at.substr(at.find('.') + 1, at.rfind('.') - at.find('.') - 1);
  for (const auto& forged :
       {domain::base64url_encode(std::string(R"({"alg":"none","typ":"at+jwt"})")) + "." + payload +
            ".",
        domain::base64url_encode(std::string(R"({"alg":"HS256","typ":"at+jwt","kid":"fake"})")) +
            "." + payload + "." + domain::base64url_encode(std::string("fake-signature")),
        std::string("garbage"), std::string(9000, 'a')}) {
    auto i = introspect(forged);
    EXPECT_FALSE(i["active"].GetBool());
    EXPECT_EQ(i.MemberCount(), 1u) << "an inactive answer says nothing else";
  }
}

TEST_F(oauth_tokens_test, a_token_never_outlives_its_users_membership_or_its_client) {
  auto admin = join(role::admin, "ad@acme.example");
  // The admin authorizes the app.
  cookie_.clear();
  {
    const auto target = authorize_query();
    auto page = call("GET", target);
    auto r = form_post("/oauth/login", "interaction=" + form_value(page.body, "interaction") +
                                           "&email=" + http::percent_encode(admin.email) +
                                           "&password=" + http::percent_encode(admin.password));
    ASSERT_EQ(r.status, 303u) << r.body;
    cookie_ = header_of(r, "Set-Cookie").substr(0, header_of(r, "Set-Cookie").find(';'));
  }
  auto t = exchange(code_for());
  const std::string at = t["access_token"].GetString();
  const std::string rt = t["refresh_token"].GetString();
  EXPECT_TRUE(introspect(at)["active"].GetBool());
  EXPECT_EQ(call("DELETE", "/v1/users/" + admin.id, "", json_with(admin_)).status, 204u);
  EXPECT_FALSE(introspect(at)["active"].GetBool());
  EXPECT_EQ(string_field(token("grant_type=refresh_token&refresh_token=" + rt).body, "error"),
            "invalid_grant");
  // A disabled client's tokens stay dead when it is enabled again.
  auto before = token("grant_type=client_credentials");
  const auto old_token = string_field(before.body, "access_token");
  auto rs0 = create(R"({"name":"rs0","environment":"live","scopes":["oauth:introspect"]})");
  const headers_t by_key{{"Authorization", "Bearer " + rs0.key}};
  EXPECT_TRUE(introspect(old_token, by_key)["active"].GetBool());
  clock_.advance(1s);
  EXPECT_EQ(
      call("PATCH", "/v1/oauth/clients/" + client_id_, R"({"enabled":false})", json_with(admin_))
          .status,
      200u);
  EXPECT_FALSE(introspect(old_token, by_key)["active"].GetBool());
  clock_.advance(1s);
  EXPECT_EQ(
      call("PATCH", "/v1/oauth/clients/" + client_id_, R"({"enabled":true})", json_with(admin_))
          .status,
      200u);
  EXPECT_FALSE(introspect(old_token, by_key)["active"].GetBool()) << "ended for good";
  EXPECT_TRUE(introspect(string_field(token("grant_type=client_credentials").body, "access_token"),
                         by_key)["active"]
                  .GetBool())
      << "a new token works";
  // A deleted client: its own tokens end.
  auto cc = token("grant_type=client_credentials");
  const auto cc_token = string_field(cc.body, "access_token");
  auto rs = create(R"({"name":"rs","environment":"live","scopes":["oauth:introspect"]})");
  EXPECT_TRUE(introspect(cc_token, {{"Authorization", "Bearer " + rs.key}})["active"].GetBool());
  EXPECT_EQ(call("DELETE", "/v1/oauth/clients/" + client_id_, "", json_with(admin_)).status, 204u);
  EXPECT_FALSE(introspect(cc_token, {{"Authorization", "Bearer " + rs.key}})["active"].GetBool());
}

TEST_F(oauth_tokens_test, revocation_ends_refresh_families_and_access_tokens) {
  auto t = exchange(code_for());
  const std::string at = t["access_token"].GetString();
  const std::string rt = t["refresh_token"].GetString();
  auto revoke = [&](const std::string& tok) {
    return form_post("/oauth/revoke", "token=" + http::percent_encode(tok),
                     {{"Authorization", basic_auth(client_id_, secret_)}});
  };
  EXPECT_EQ(revoke(at).status, 200u);
  EXPECT_FALSE(introspect(at)["active"].GetBool());
  EXPECT_TRUE(introspect(rt)["active"].GetBool()) << "an access token alone";
  EXPECT_EQ(revoke(at).status, 200u) << "again: still 200";
  EXPECT_EQ(revoke("not-a-token").status, 200u);
  EXPECT_EQ(revoke(rt).status, 200u);
  EXPECT_FALSE(introspect(rt)["active"].GetBool());
  // A client may not revoke another's tokens.
  auto cc = string_field(token("grant_type=client_credentials").body, "access_token");
  auto other = call("POST", "/v1/oauth/clients",
                    R"({"type":"confidential","name":"O","grant_types":["client_credentials"]})",
                    json_with(admin_));
  auto refused = form_post(
      "/oauth/revoke", "token=" + cc,
      {{"Authorization",
        basic_auth(string_field(other.body, "id"), string_field(other.body, "client_secret"))}});
  EXPECT_EQ(refused.status, 400u);
  EXPECT_TRUE(introspect(cc)["active"].GetBool());
}

TEST_F(oauth_tokens_test, a_person_lists_and_revokes_the_apps_they_authorized) {
  auto t = exchange(code_for());
  const std::string at = t["access_token"].GetString();
  auto me = owner();
  auto list = call("GET", "/v1/oauth/grants", "", as(me, false));
  ASSERT_EQ(list.status, 200u) << list.body;
  auto d = parse(list.body);
  ASSERT_EQ(d["grants"].Size(), 1u);
  EXPECT_EQ(std::string(d["grants"][0]["client_name"].GetString()), "CRM sync");
  const std::string grant_id = d["grants"][0]["id"].GetString();
  auto someone = join(role::member, "m@acme.example");
  EXPECT_EQ(call("DELETE", "/v1/oauth/grants/" + grant_id, "", as(someone)).status, 404u);
  EXPECT_EQ(call("GET", "/v1/oauth/grants", "", json_with(admin_)).status, 401u)
      << "a person's session only";
  EXPECT_EQ(call("DELETE", "/v1/oauth/grants/" + grant_id, "", as(me)).status, 204u);
  EXPECT_FALSE(introspect(at)["active"].GetBool());
  EXPECT_EQ(parse(call("GET", "/v1/oauth/grants", "", as(me, false)).body)["grants"].Size(), 0u);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

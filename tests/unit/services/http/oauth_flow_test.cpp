// The authorization server's token endpoint through its HTTP surface (no sockets): metadata,
// client authentication, client_credentials, the code exchange with PKCE, refresh rotation and
// reuse. The pages are in oauth_pages_test, introspection, revocation and grants in
// oauth_tokens_test; the real socket path, real clients (oauth4webapi, openid-client, jose) and
// Chromium in tests/e2e/oauth*.test.mjs.
#include "tests/unit/services/http/oauth_flow_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

TEST_F(oauth_flow_test, the_metadata_names_every_endpoint_and_only_s256) {
  auto r = call("GET", "/.well-known/oauth-authorization-server");
  ASSERT_EQ(r.status, 200u);
  auto d = parse(r.body);
  EXPECT_EQ(std::string(d["issuer"].GetString()), std::string(issuer));
  EXPECT_EQ(std::string(d["token_endpoint"].GetString()), std::string(issuer) + "/oauth/token");
  EXPECT_EQ(std::string(d["jwks_uri"].GetString()), std::string(issuer) + "/oauth/jwks");
  EXPECT_EQ(d["code_challenge_methods_supported"].Size(), 1u);
  EXPECT_EQ(std::string(d["code_challenge_methods_supported"][0].GetString()), "S256");
  EXPECT_TRUE(d["authorization_response_iss_parameter_supported"].GetBool());
  EXPECT_EQ(d["response_types_supported"].Size(), 1u);
}

TEST_F(oauth_flow_test, client_credentials_with_the_key_in_memory_needs_no_pool) {
  // The pool stopped: a grant that must wait for it is refused (503), one whose signature needs
  // no database is answered on the I/O thread.
  pool_.stop();
  EXPECT_EQ(token("grant_type=client_credentials&scope=leads%3Aread").status, 503u);
  signer_.key_in_memory = true;
  auto r = token("grant_type=client_credentials&scope=leads%3Aread");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
  const std::string at = parse(r.body)["access_token"].GetString();
  EXPECT_EQ(infra::decode_claims(*signer_.verify(at))->subject, client_id_);
  // Refusals are answered there too, in the RFC 6749 5.2 shape.
  auto bad = token("grant_type=client_credentials&scope=calendar%3Aread");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(string_field(bad.body, "error"), "invalid_scope");
}

TEST_F(oauth_flow_test, client_credentials_gives_a_token_for_the_client_itself) {
  const auto before = store_.head_seq();
  auto r = token("grant_type=client_credentials&scope=leads%3Aread");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
  auto d = parse(r.body);
  EXPECT_EQ(std::string(d["token_type"].GetString()), "Bearer");
  EXPECT_EQ(d["expires_in"].GetInt(), 600);
  EXPECT_EQ(std::string(d["scope"].GetString()), "leads:read");
  EXPECT_FALSE(d.HasMember("refresh_token"));
  const std::string at = d["access_token"].GetString();
  auto claims = infra::decode_claims(*signer_.verify(at));
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->subject, client_id_);
  EXPECT_EQ(claims->client_id, client_id_);
  EXPECT_EQ(claims->audience, std::string(issuer));
  EXPECT_EQ(claims->workspace_id, workspace_id_);
  EXPECT_TRUE(claims->session_id.empty());
  EXPECT_TRUE(introspect(at)["active"].GetBool());

  // The same secret in the body (client_secret_post).
  auto post = form_post("/oauth/token", "grant_type=client_credentials&client_id=" + client_id_ +
                                            "&client_secret=" + secret_);
  EXPECT_EQ(post.status, 200u) << post.body;
  // No scope: every allowed scope in the catalog.
  auto all = token("grant_type=client_credentials");
  EXPECT_EQ(string_field(all.body, "scope"), "leads:read leads:write");
  EXPECT_EQ(
      string_field(token("grant_type=client_credentials&scope=calendar%3Aread").body, "error"),
      "invalid_scope");
  EXPECT_EQ(store_.head_seq(), before) << "nothing stored";
}

TEST_F(oauth_flow_test, client_authentication_fails_closed) {
  const auto wrong = form_post("/oauth/token", "grant_type=client_credentials",
                               {{"Authorization", basic_auth(client_id_, secret_ + "x")}});
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(string_field(wrong.body, "error"), "invalid_client");
  EXPECT_NE(header_of(wrong, "WWW-Authenticate"), "(absent)");
  // Another client's secret.
  auto other =
      call("POST", "/v1/oauth/clients",
           R"({"type":"confidential","name":"Other","grant_types":["client_credentials"]})",
           json_with(admin_));
  const auto other_secret = string_field(other.body, "client_secret");
  EXPECT_EQ(form_post("/oauth/token", "grant_type=client_credentials",
                      {{"Authorization", basic_auth(client_id_, other_secret)}})
                .status,
            401u);
  // Two methods at once.
  EXPECT_EQ(string_field(
                form_post("/oauth/token", "grant_type=client_credentials&client_secret=" + secret_,
                          {{"Authorization", basic_auth(client_id_, secret_)}})
                    .body,
                "error"),
            "invalid_request");
  // No secret for a confidential client; JSON instead of a form; unknown grant.
  EXPECT_EQ(
      form_post("/oauth/token", "grant_type=client_credentials&client_id=" + client_id_).status,
      401u);
  EXPECT_EQ(string_field(call("POST", "/oauth/token", R"({"grant_type":"client_credentials"})",
                              {{"Content-Type", "application/json"},
                               {"Authorization", basic_auth(client_id_, secret_)}})
                             .body,
                         "error"),
            "invalid_request");
  EXPECT_EQ(string_field(token("grant_type=password&username=a&password=b").body, "error"),
            "unsupported_grant_type");
  EXPECT_EQ(string_field(token("grant_type=client_credentials&grant_type=client_credentials").body,
                         "error"),
            "invalid_request");
  // A disabled client authenticates no more.
  call("PATCH", "/v1/oauth/clients/" + client_id_, R"({"enabled":false})", json_with(admin_));
  EXPECT_EQ(token("grant_type=client_credentials").status, 401u);
}

TEST_F(oauth_flow_test, a_second_use_of_a_code_fails_and_revokes_what_the_first_gave) {
  const auto code = code_for();
  auto first = exchange(code);
  const std::string at = first["access_token"].GetString();
  const std::string rt = first["refresh_token"].GetString();
  auto second = exchange(code, 400);
  EXPECT_EQ(std::string(second["error"].GetString()), "invalid_grant");
  EXPECT_FALSE(introspect(at)["active"].GetBool());
  EXPECT_FALSE(introspect(rt)["active"].GetBool());
  EXPECT_EQ(string_field(token("grant_type=refresh_token&refresh_token=" + rt).body, "error"),
            "invalid_grant");
}

TEST_F(oauth_flow_test, pkce_is_checked_at_the_token_endpoint) {
  const auto code = code_for();
  for (const auto& bad : {std::string(), std::string("&code_verifier=") + std::string(43, 'a'),
                          std::string("&code_verifier=short")}) {
    auto r = token("grant_type=authorization_code&code=" + http::percent_encode(code) +
                   "&redirect_uri=" + http::percent_encode(redirect) + bad);
    EXPECT_EQ(string_field(r.body, "error"), "invalid_grant") << bad;
  }
  auto wrong_uri =
      token("grant_type=authorization_code&code=" + http::percent_encode(code) +
            "&redirect_uri=" + http::percent_encode(redirect + "/") + "&code_verifier=" + verifier);
  EXPECT_EQ(string_field(wrong_uri.body, "error"), "invalid_grant");
  // The code still works for the right verifier: failed attempts do not redeem it.
  exchange(code);
}

TEST_F(oauth_flow_test, refresh_tokens_rotate_and_a_reuse_revokes_the_family) {
  auto t = exchange(code_for());
  const std::string rt1 = t["refresh_token"].GetString();
  auto r2 = token("grant_type=refresh_token&refresh_token=" + rt1);
  ASSERT_EQ(r2.status, 200u) << r2.body;
  const auto rt2 = string_field(r2.body, "refresh_token");
  const auto at2 = string_field(r2.body, "access_token");
  EXPECT_NE(rt2, rt1);
  EXPECT_TRUE(introspect(at2)["active"].GetBool());
  EXPECT_FALSE(introspect(rt1)["active"].GetBool()) << "superseded";
  // Scope may narrow, never widen.
  EXPECT_EQ(
      string_field(
          token("grant_type=refresh_token&refresh_token=" + rt2 + "&scope=leads%3Awrite").body,
          "error"),
      "invalid_scope");
  // The reuse of rt1: refused, and the family (rt2 and its access token) ends.
  EXPECT_EQ(string_field(token("grant_type=refresh_token&refresh_token=" + rt1).body, "error"),
            "invalid_grant");
  EXPECT_FALSE(introspect(rt2)["active"].GetBool());
  EXPECT_FALSE(introspect(at2)["active"].GetBool());
  EXPECT_EQ(string_field(token("grant_type=refresh_token&refresh_token=" + rt2).body, "error"),
            "invalid_grant");
  bool recorded = false;
  for (const auto& e : store_.read_all(0, 10'000)) {
    recorded = recorded ||
               (e.type == "FamilyRevoked" && e.payload.find("refresh_reused") != std::string::npos);
  }
  EXPECT_TRUE(recorded);
}

/// The position of the last FamilyRevoked with `reason`, 0 if none.
std::uint64_t last_family_revoked(infra::event_store& store, std::string_view reason) {
  std::uint64_t seq = 0;
  for (const auto& e : store.read_all(0, 10'000)) {
    if (e.type == "FamilyRevoked" && e.payload.find(reason) != std::string::npos) {
      seq = e.global_seq;
    }
  }
  return seq;
}

// A replay refused with invalid_grant has appended the family's revocation: the refusal
// carries its position, so that the endpoint answers only once its node has applied it (else
// an introspection right after the invalid_grant could still find the family's tokens active;
// seen in tests/e2e/oauth_attacks.test.mjs).
TEST_F(oauth_flow_test, a_replay_refusal_names_the_revocation_it_appended) {
  const auto client = oauth_clients_.find(client_id_);
  ASSERT_NE(client, nullptr);
  const request_context ctx{client_id_, "req_test", "127.0.0.1", ""};

  auto t = exchange(code_for());
  const std::string rt1 = t["refresh_token"].GetString();
  ASSERT_EQ(token("grant_type=refresh_token&refresh_token=" + rt1).status, 200u);
  auto reused = tokens_.refresh(store_, *client, rt1, std::nullopt, std::nullopt, ctx);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().problem.code, "invalid_grant");
  const auto refresh_revoked = last_family_revoked(store_, "refresh_reused");
  EXPECT_NE(refresh_revoked, 0u);
  EXPECT_EQ(reused.error().global_seq, refresh_revoked);

  const auto code = code_for();
  exchange(code);
  auto replayed =
      tokens_.exchange_code(store_, *client, code, redirect, verifier, std::nullopt, ctx);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().problem.code, "invalid_grant");
  const auto code_revoked = last_family_revoked(store_, "code_reused");
  EXPECT_NE(code_revoked, 0u);
  EXPECT_EQ(replayed.error().global_seq, code_revoked);

  // A refusal that appended nothing names no position.
  auto unknown = tokens_.refresh(store_, *client, "klrt_nothing", std::nullopt, std::nullopt, ctx);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().global_seq, 0u);
  // A third use of the code: the family is already revoked, nothing more is appended.
  auto again = tokens_.exchange_code(store_, *client, code, redirect, verifier, std::nullopt, ctx);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(last_family_revoked(store_, "code_reused"), code_revoked);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

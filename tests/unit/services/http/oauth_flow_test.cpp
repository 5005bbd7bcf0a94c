// The authorization server through its HTTP surface (no sockets): metadata, client
// authentication, client_credentials, the authorization code flow through the login and
// consent pages, refresh rotation and reuse, introspection, revocation and a person's grants.
// The real socket path, real clients (oauth4webapi, openid-client, jose) and Chromium are in
// tests/e2e/oauth*.test.mjs.
#include <regex>

#include "infra/json/token_codec.hpp"
#include "services/http/oauth/oauth_form.hpp"
#include "services/http/router/form.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";  // RFC 7636 B
const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const std::string redirect = "https://crm.example/cb";

/// base64url -> base64 with padding, as HTTP Basic wants.
std::string basic_auth(const std::string& id, const std::string& secret) {
  auto b = domain::base64url_encode(id + ":" + secret);
  for (char& c : b) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (b.size() % 4 != 0) b += '=';
  return "Basic " + b;
}

std::string form_value(const std::string& html, const std::string& name) {
  const std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(html, m, re) ? m[1].str() : "(absent)";
}

std::string query_param(const std::string& url, const std::string& name) {
  const std::regex re("[?&]" + name + "=([^&]*)");
  std::smatch m;
  if (!std::regex_search(url, m, re)) return "(absent)";
  return *http::percent_decode(m[1].str());
}

class oauth_flow_test : public routes_test {
 protected:
  oauth_flow_test() {
    auto r = call(
        "POST", "/v1/oauth/clients",
        R"({"type":"confidential","name":"CRM sync","redirect_uris":["https://crm.example/cb"],"grant_types":["authorization_code","refresh_token","client_credentials"],"allowed_scopes":["leads:read","leads:write"]})",
        json_with(admin_));
    EXPECT_EQ(r.status, 201u) << r.body;
    client_id_ = string_field(r.body, "id");
    secret_ = string_field(r.body, "client_secret");
  }

  infra::http_response form_post(const std::string& path, const std::string& body,
                                 headers_t extra = {}) {
    extra.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return call("POST", path, body, std::move(extra));
  }

  infra::http_response token(const std::string& body) {
    return form_post("/oauth/token", body, {{"Authorization", basic_auth(client_id_, secret_)}});
  }

  std::string authorize_query(const std::string& scope = "leads:read",
                              const std::string& state = "s1") {
    return "/oauth/authorize?response_type=code&client_id=" + client_id_ +
           "&redirect_uri=" + http::percent_encode(redirect) +
           "&scope=" + http::percent_encode(scope) + "&state=" + state +
           "&code_challenge=" + challenge + "&code_challenge_method=S256";
  }

  /// Logs the owner in through the login page; returns the session cookie.
  std::string log_in_through_page(const std::string& target) {
    auto page = call("GET", target);
    EXPECT_EQ(page.status, 200u) << page.body;
    auto r = form_post("/oauth/login", "interaction=" + form_value(page.body, "interaction") +
                                           "&email=" + http::percent_encode("owner@acme.example") +
                                           "&password=" + http::percent_encode(owner_password_));
    EXPECT_EQ(r.status, 303u) << r.body;
    EXPECT_TRUE(header_of(r, "Location").starts_with("/oauth/authorize?"));
    const auto cookie = header_of(r, "Set-Cookie");
    return cookie.substr(0, cookie.find(';'));
  }

  /// The whole front channel: login, consent, redirect. Returns the code.
  std::string code_for(const std::string& scope = "leads:read") {
    const auto target = authorize_query(scope);
    if (cookie_.empty()) cookie_ = log_in_through_page(target);
    auto consent = call("GET", target, "", {{"Cookie", cookie_}});
    if (consent.status == 303) return query_param(header_of(consent, "Location"), "code");
    EXPECT_EQ(consent.status, 200u) << consent.body;
    auto r = form_post("/oauth/authorize",
                       "interaction=" + form_value(consent.body, "interaction") +
                           "&csrf_token=" + form_value(consent.body, "csrf_token") +
                           "&workspace_id=" + workspace_id_ + "&decision=allow",
                       {{"Cookie", cookie_}});
    EXPECT_EQ(r.status, 303u) << r.body;
    const auto location = header_of(r, "Location");
    EXPECT_TRUE(location.starts_with(redirect + "?code=")) << location;
    EXPECT_EQ(query_param(location, "state"), "s1");
    EXPECT_EQ(query_param(location, "iss"), std::string(issuer));
    return query_param(location, "code");
  }

  rapidjson::Document exchange(const std::string& code, unsigned expected = 200) {
    auto r =
        token("grant_type=authorization_code&code=" + http::percent_encode(code) +
              "&redirect_uri=" + http::percent_encode(redirect) + "&code_verifier=" + verifier);
    EXPECT_EQ(r.status, expected) << r.body;
    return parse(r.body);
  }

  rapidjson::Document introspect(const std::string& t, headers_t auth = {}) {
    if (auth.empty()) auth = {{"Authorization", basic_auth(client_id_, secret_)}};
    auto r = form_post("/oauth/introspect", "token=" + http::percent_encode(t), std::move(auth));
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  }

  std::string client_id_;
  std::string secret_;
  std::string cookie_;
};

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

TEST_F(oauth_flow_test, the_code_flow_goes_through_login_and_consent_pages) {
  auto login = call("GET", authorize_query());
  ASSERT_EQ(login.status, 200u) << login.body;
  EXPECT_EQ(login.content_type, "text/html; charset=utf-8");
  const auto csp = header_of(login, "Content-Security-Policy");
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_NE(csp.find("form-action 'self' https://crm.example"), std::string::npos) << csp;
  EXPECT_EQ(header_of(login, "X-Frame-Options"), "DENY");
  EXPECT_EQ(header_of(login, "Cache-Control"), "no-store");
  EXPECT_NE(login.body.find("CRM sync"), std::string::npos);

  const auto code = code_for();
  EXPECT_TRUE(code.starts_with("klac_grt_"));
  auto t = exchange(code);
  const std::string at = t["access_token"].GetString();
  const std::string rt = t["refresh_token"].GetString();
  EXPECT_TRUE(rt.starts_with("klrt_grt_"));
  EXPECT_EQ(std::string(t["scope"].GetString()), "leads:read");
  const auto claims = infra::decode_claims(*signer_.verify(at));
  EXPECT_EQ(claims->subject, owner_id_);
  EXPECT_FALSE(claims->session_id.empty());
  auto i = introspect(at);
  EXPECT_TRUE(i["active"].GetBool());
  EXPECT_EQ(std::string(i["sub"].GetString()), owner_id_);
  EXPECT_EQ(std::string(i["workspace_id"].GetString()), workspace_id_);
  EXPECT_TRUE(introspect(rt)["active"].GetBool());
  // Neither the code nor the tokens are in the log: only keyed hashes.
  std::string log;
  for (const auto& e : store_.read_all(0, 10'000)) log += e.payload + e.metadata;
  for (const auto& s : {code, rt, at, secret_}) EXPECT_EQ(log.find(s), std::string::npos);
}

// Under Referrer-Policy no-referrer a browser sends "Origin: null" with a page's own form posts
// (Fetch, "append a request Origin header"): Chromium's login then failed CSRF_FAILED (seen in
// tests/e2e/oauth_browser.test.mjs). same-origin lets the origin through and still sends nothing
// to any other origin; the redirect to the client keeps no-referrer.
TEST_F(oauth_flow_test, the_pages_let_a_browser_send_their_origin_with_their_forms) {
  auto login = call("GET", authorize_query());
  ASSERT_EQ(login.status, 200u) << login.body;
  EXPECT_EQ(header_of(login, "Referrer-Policy"), "same-origin");
  EXPECT_NE(login.body.find("<meta name=\"referrer\" content=\"same-origin\">"), std::string::npos);
  EXPECT_EQ(login.body.find("no-referrer"), std::string::npos);
  const auto interaction = form_value(login.body, "interaction");
  const auto post = [&](const std::string& origin) {
    return form_post("/oauth/login",
                     "interaction=" + interaction +
                         "&email=" + http::percent_encode("owner@acme.example") +
                         "&password=" + http::percent_encode(owner_password_),
                     {{"Origin", origin}, {"Sec-Fetch-Site", "same-origin"}});
  };
  // What a browser sends under same-origin: the issuer's origin.
  auto ok = post(std::string(issuer));
  EXPECT_EQ(ok.status, 303u) << ok.body;
  EXPECT_EQ(header_of(ok, "Referrer-Policy"), "no-referrer");
  // An opaque origin (a sandboxed frame, a data: page) stays refused.
  EXPECT_EQ(post("null").status, 403u);
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
  ASSERT_TRUE(client.has_value());
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

TEST_F(oauth_flow_test, a_remembered_consent_skips_the_page_but_wider_scopes_do_not) {
  exchange(code_for("leads:read"));
  auto again = call("GET", authorize_query("leads:read"), "", {{"Cookie", cookie_}});
  EXPECT_EQ(again.status, 303u);
  EXPECT_NE(query_param(header_of(again, "Location"), "code"), "(absent)");
  auto wider = call("GET", authorize_query("leads:read leads:write"), "", {{"Cookie", cookie_}});
  EXPECT_EQ(wider.status, 200u) << "a consent page";
}

TEST_F(oauth_flow_test, errors_before_the_redirect_uri_is_known_are_shown_never_redirected) {
  for (const auto& target :
       {std::string("/oauth/authorize?response_type=code&client_id=cli_0000000000000000000000"),
        "/oauth/authorize?response_type=code&client_id=" + client_id_ +
            "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&code_challenge=" + challenge +
            "&code_challenge_method=S256&scope=leads%3Aread",
        "/oauth/authorize?response_type=code&client_id=" + client_id_ +
            "&redirect_uri=https%3A%2F%2Fcrm.example%2Fcb%2F&scope=leads%3Aread",
        "/oauth/authorize?client_id=" + client_id_ + "&client_id=" + client_id_}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_EQ(header_of(r, "Location"), "(absent)") << target;
    EXPECT_EQ(header_of(r, "X-Frame-Options"), "DENY");
  }
  // After: redirected with error, state and iss.
  auto no_pkce = call("GET", "/oauth/authorize?response_type=code&client_id=" + client_id_ +
                                 "&redirect_uri=" + http::percent_encode(redirect) +
                                 "&scope=leads%3Aread&state=xyz");
  EXPECT_EQ(no_pkce.status, 303u);
  const auto location = header_of(no_pkce, "Location");
  EXPECT_TRUE(location.starts_with(redirect + "?error=invalid_request")) << location;
  EXPECT_EQ(query_param(location, "state"), "xyz");
  EXPECT_EQ(query_param(location, "iss"), std::string(issuer));
  auto plain = call("GET", authorize_query() + "&code_challenge_method=plain");
  EXPECT_EQ(query_param(header_of(plain, "Location"), "error"), "invalid_request");
}

TEST_F(oauth_flow_test, consent_needs_the_sessions_csrf_token_and_an_explicit_allow) {
  const auto target = authorize_query();
  cookie_ = log_in_through_page(target);
  auto consent = call("GET", target, "", {{"Cookie", cookie_}});
  ASSERT_EQ(consent.status, 200u);
  const auto interaction = form_value(consent.body, "interaction");
  const auto csrf = form_value(consent.body, "csrf_token");
  const auto before = store_.head_seq();
  auto forged = form_post("/oauth/authorize",
                          "interaction=" + interaction +
                              "&csrf_token=x&workspace_id=" + workspace_id_ + "&decision=allow",
                          {{"Cookie", cookie_}});
  EXPECT_EQ(forged.status, 403u);
  auto cross_site = form_post("/oauth/authorize",
                              "interaction=" + interaction + "&csrf_token=" + csrf +
                                  "&workspace_id=" + workspace_id_ + "&decision=allow",
                              {{"Cookie", cookie_}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(cross_site.status, 403u);
  auto tampered =
      form_post("/oauth/authorize",
                "interaction=" + interaction.substr(0, interaction.size() - 2) +
                    "AA&csrf_token=" + csrf + "&workspace_id=" + workspace_id_ + "&decision=allow",
                {{"Cookie", cookie_}});
  EXPECT_EQ(tampered.status, 400u);
  EXPECT_EQ(store_.head_seq(), before) << "nothing granted";
  auto deny = form_post("/oauth/authorize",
                        "interaction=" + interaction + "&csrf_token=" + csrf +
                            "&workspace_id=" + workspace_id_ + "&decision=deny",
                        {{"Cookie", cookie_}});
  EXPECT_EQ(deny.status, 303u);
  EXPECT_EQ(query_param(header_of(deny, "Location"), "error"), "access_denied");
  EXPECT_EQ(store_.head_seq(), before);
}

TEST_F(oauth_flow_test, a_wrong_password_on_the_login_page_is_a_page_not_a_session) {
  auto page = call("GET", authorize_query());
  auto r = form_post("/oauth/login", "interaction=" + form_value(page.body, "interaction") +
                                         "&email=owner%40acme.example&password=wrong");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(header_of(r, "Set-Cookie"), "(absent)");
  EXPECT_NE(r.body.find("The email or the password is wrong"), std::string::npos);
  EXPECT_EQ(r.body.find("wrong\""), std::string::npos) << "the password is never echoed";
}

TEST_F(oauth_flow_test, introspection_is_scoped_to_the_caller_and_knows_api_keys) {
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

TEST_F(oauth_flow_test, a_token_never_outlives_its_users_membership_or_its_client) {
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
  EXPECT_EQ(call("PATCH", "/v1/oauth/clients/" + client_id_, R"({"enabled":false})",
                 json_with(admin_))
                .status,
            200u);
  EXPECT_FALSE(introspect(old_token, by_key)["active"].GetBool());
  clock_.advance(1s);
  EXPECT_EQ(call("PATCH", "/v1/oauth/clients/" + client_id_, R"({"enabled":true})",
                 json_with(admin_))
                .status,
            200u);
  EXPECT_FALSE(introspect(old_token, by_key)["active"].GetBool()) << "ended for good";
  EXPECT_TRUE(introspect(string_field(token("grant_type=client_credentials").body,
                                      "access_token"),
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

TEST_F(oauth_flow_test, revocation_ends_refresh_families_and_access_tokens) {
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

TEST_F(oauth_flow_test, a_person_lists_and_revokes_the_apps_they_authorized) {
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

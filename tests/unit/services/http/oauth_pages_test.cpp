// The authorization endpoint's pages through the HTTP surface: the code flow through the login
// and consent pages, their headers and forms, a remembered consent, errors shown and never
// redirected, CSRF on consent, a wrong password.
#include "tests/unit/services/http/oauth_flow_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

class oauth_pages_test : public oauth_flow_test {};

TEST_F(oauth_pages_test, the_code_flow_goes_through_login_and_consent_pages) {
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
TEST_F(oauth_pages_test, the_pages_let_a_browser_send_their_origin_with_their_forms) {
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

TEST_F(oauth_pages_test, a_remembered_consent_skips_the_page_but_wider_scopes_do_not) {
  exchange(code_for("leads:read"));
  auto again = call("GET", authorize_query("leads:read"), "", {{"Cookie", cookie_}});
  EXPECT_EQ(again.status, 303u);
  EXPECT_NE(query_param(header_of(again, "Location"), "code"), "(absent)");
  auto wider = call("GET", authorize_query("leads:read leads:write"), "", {{"Cookie", cookie_}});
  EXPECT_EQ(wider.status, 200u) << "a consent page";
}

TEST_F(oauth_pages_test, errors_before_the_redirect_uri_is_known_are_shown_never_redirected) {
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

TEST_F(oauth_pages_test, consent_needs_the_sessions_csrf_token_and_an_explicit_allow) {
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

TEST_F(oauth_pages_test, a_wrong_password_on_the_login_page_is_a_page_not_a_session) {
  auto page = call("GET", authorize_query());
  auto r = form_post("/oauth/login", "interaction=" + form_value(page.body, "interaction") +
                                         "&email=owner%40acme.example&password=wrong");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(header_of(r, "Set-Cookie"), "(absent)");
  EXPECT_NE(r.body.find("The email or the password is wrong"), std::string::npos);
  EXPECT_EQ(r.body.find("wrong\""), std::string::npos) << "the password is never echoed";
}

}  // namespace
}  // namespace keyledger::services::routes_testing

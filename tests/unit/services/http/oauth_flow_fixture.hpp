#pragma once

// The OAuth route tests' fixture: a registered confidential client, a person who logs in and
// consents, and helpers to speak to the token endpoint and the pages (oauth_flow_test,
// oauth_pages_test, oauth_tokens_test).
#include <regex>

#include "infra/json/token_codec.hpp"
#include "services/http/oauth/oauth_form.hpp"
#include "services/http/router/form.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
// Internal to each test file that includes it (one executable holds several).
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

}  // namespace
}  // namespace keyledger::services::routes_testing

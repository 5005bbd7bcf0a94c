// The authorization endpoint's request rules: which failures are shown and which redirected,
// exact redirect URI matching, PKCE S256 only, scopes within the client's, resource indicators.
#include <gtest/gtest.h>

#include "domain/oauth/authorization_request.hpp"

namespace keyledger::domain::oauth {
namespace {

const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";  // RFC 7636 B

client_state a_client() {
  client_state c;
  c.exists = true;
  c.client_id = "cli_0123456789abcdefghijkl";
  c.workspace_id = "ws_1";
  c.settings.name = "CRM";
  c.settings.redirect_uris = {"https://crm.example/cb"};
  c.settings.grant_types = {grant_type::authorization_code, grant_type::refresh_token};
  c.settings.allowed_scopes = {"leads:read", "leads:write"};
  return c;
}

authorization_params a_request() {
  authorization_params p;
  p.response_type = "code";
  p.client_id = "cli_0123456789abcdefghijkl";
  p.redirect_uri = "https://crm.example/cb";
  p.scope = "leads:read";
  p.state = "xyz";
  p.code_challenge = challenge;
  p.code_challenge_method = "S256";
  return p;
}

authorization_failure failure_of(const authorization_params& p, const client_state* c) {
  auto r = check_authorization_request(p, c);
  EXPECT_FALSE(r.ok());
  return r.ok() ? authorization_failure{} : r.error();
}

TEST(authorization_request, a_well_formed_request_is_accepted_with_sorted_distinct_scopes) {
  const auto client = a_client();
  auto p = a_request();
  p.scope = "leads:write leads:read leads:write";
  p.resource = "https://api.crm.example/";
  auto r = check_authorization_request(p, &client);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->redirect_uri, "https://crm.example/cb");
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"leads:read", "leads:write"}));
  EXPECT_EQ(r->state, "xyz");
  EXPECT_EQ(r->code_challenge, challenge);
  EXPECT_EQ(r->resource, "https://api.crm.example/");
}

TEST(authorization_request, the_only_registered_redirect_uri_may_be_left_out_but_not_one_of_two) {
  auto client = a_client();
  auto p = a_request();
  p.redirect_uri.reset();
  ASSERT_TRUE(check_authorization_request(p, &client).ok());
  EXPECT_EQ(check_authorization_request(p, &client)->redirect_uri, "https://crm.example/cb");
  client.settings.redirect_uris.push_back("https://crm.example/cb2");
  const auto f = failure_of(p, &client);
  EXPECT_FALSE(f.redirect);
}

TEST(authorization_request, an_unknown_disabled_or_deleted_client_is_shown_not_redirected) {
  auto client = a_client();
  EXPECT_FALSE(failure_of(a_request(), nullptr).redirect);
  client.enabled = false;
  EXPECT_FALSE(failure_of(a_request(), &client).redirect);
  client.enabled = true;
  client.deleted = true;
  EXPECT_FALSE(failure_of(a_request(), &client).redirect);
  auto p = a_request();
  p.client_id.reset();
  EXPECT_FALSE(failure_of(p, nullptr).redirect);
}

TEST(authorization_request, a_redirect_uri_that_is_not_exactly_a_registered_one_is_never_used) {
  const auto client = a_client();
  for (const char* trick :
       {"https://crm.example/cb/", "https://crm.example/cb/../evil", "https://crm.example/cbx",
        "https://CRM.example/cb", "HTTPS://crm.example/cb", "https://crm.example/cb#frag",
        "https://crm.example/cb?x=1", "https://user@crm.example/cb", "https://crm.example.evil/cb",
        "https://crm.example:443/cb", "https://crm.example/CB", "https://crm.example/c",
        "https://evil.example/?https://crm.example/cb", " https://crm.example/cb"}) {
    auto p = a_request();
    p.redirect_uri = trick;
    const auto f = failure_of(p, &client);
    EXPECT_FALSE(f.redirect) << trick;
    EXPECT_TRUE(f.redirect_uri.empty()) << trick;
  }
  auto twice = a_request();
  twice.duplicated = {"redirect_uri"};
  EXPECT_FALSE(failure_of(twice, &client).redirect);
}

TEST(authorization_request, a_state_that_cannot_be_sent_back_is_shown) {
  const auto client = a_client();
  auto p = a_request();
  p.state = std::string("a\nb");
  EXPECT_FALSE(failure_of(p, &client).redirect);
  p.state = std::string(1025, 'a');
  EXPECT_FALSE(failure_of(p, &client).redirect);
  p.state = std::string(1024, 'a');
  EXPECT_TRUE(check_authorization_request(p, &client).ok());
}

TEST(authorization_request, pkce_is_s256_for_every_client_and_downgrades_are_refused) {
  auto client = a_client();
  client.type = client_type::confidential;
  auto no_challenge = a_request();
  no_challenge.code_challenge.reset();
  no_challenge.code_challenge_method.reset();
  auto plain = a_request();
  plain.code_challenge_method = "plain";
  auto no_method = a_request();
  no_method.code_challenge_method.reset();
  auto lower = a_request();
  lower.code_challenge_method = "s256";
  auto short_challenge = a_request();
  short_challenge.code_challenge = challenge.substr(1);
  auto bad_chars = a_request();
  bad_chars.code_challenge = challenge.substr(1) + "=";
  for (const auto& p : {no_challenge, plain, no_method, lower, short_challenge, bad_chars}) {
    const auto f = failure_of(p, &client);
    EXPECT_TRUE(f.redirect);
    EXPECT_EQ(f.error, authorization_error::invalid_request);
    EXPECT_EQ(f.redirect_uri, "https://crm.example/cb");
    EXPECT_EQ(f.state, "xyz") << "the state goes back with the error";
  }
}

TEST(authorization_request, only_the_code_response_type_for_clients_with_the_code_grant) {
  auto client = a_client();
  auto token = a_request();
  token.response_type = "token";
  EXPECT_EQ(failure_of(token, &client).error, authorization_error::unsupported_response_type);
  auto hybrid = a_request();
  hybrid.response_type = "code id_token";
  EXPECT_EQ(failure_of(hybrid, &client).error, authorization_error::unsupported_response_type);
  auto none = a_request();
  none.response_type.reset();
  EXPECT_EQ(failure_of(none, &client).error, authorization_error::invalid_request);
  client.settings.grant_types = {grant_type::client_credentials};
  EXPECT_EQ(failure_of(a_request(), &client).error, authorization_error::unauthorized_client);
}

TEST(authorization_request, scopes_are_required_well_formed_and_within_the_clients) {
  const auto client = a_client();
  for (const char* scope : {"", " ", "leads:read  leads:write", " leads:read", "leads:read ",
                            "Leads:Read", "leads", "leads:delete", "keys:read"}) {
    auto p = a_request();
    p.scope = scope;
    const auto f = failure_of(p, &client);
    EXPECT_TRUE(f.redirect) << scope;
    EXPECT_EQ(f.error, authorization_error::invalid_scope) << "'" << scope << "'";
  }
  auto none = a_request();
  none.scope.reset();
  EXPECT_EQ(failure_of(none, &client).error, authorization_error::invalid_scope);
}

TEST(authorization_request, a_resource_is_an_absolute_uri_without_fragment_and_only_one) {
  const auto client = a_client();
  for (const char* bad : {"api", "/relative", "https://api.example/#x", "1http://x", ":x",
                          "https://api.example/ x"}) {
    auto p = a_request();
    p.resource = bad;
    EXPECT_EQ(failure_of(p, &client).error, authorization_error::invalid_target) << bad;
  }
  auto urn = a_request();
  urn.resource = "urn:keyledger:bench-api";
  EXPECT_TRUE(check_authorization_request(urn, &client).ok());
  auto twice = a_request();
  twice.duplicated = {"resource"};
  EXPECT_EQ(failure_of(twice, &client).error, authorization_error::invalid_target);
}

TEST(authorization_request, other_duplicates_and_request_objects_are_refused_by_redirect) {
  const auto client = a_client();
  auto twice = a_request();
  twice.duplicated = {"scope"};
  auto f = failure_of(twice, &client);
  EXPECT_TRUE(f.redirect);
  EXPECT_EQ(f.error, authorization_error::invalid_request);
  auto jar = a_request();
  jar.request_object = true;
  EXPECT_EQ(failure_of(jar, &client).error, authorization_error::invalid_request);
}

TEST(authorization_request, descriptions_never_echo_a_value_and_use_the_allowed_characters) {
  const auto client = a_client();
  auto p = a_request();
  p.scope = "leads:read \"<script>";
  const auto f = failure_of(p, &client);
  EXPECT_EQ(f.description.find('<'), std::string::npos);
  for (const char c : f.description) {
    EXPECT_TRUE(c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') << f.description;
  }
}

TEST(authorization_request, code_verifiers_have_the_rfc_7636_form) {
  EXPECT_TRUE(valid_code_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
  EXPECT_TRUE(valid_code_verifier(std::string(128, '~')));
  EXPECT_FALSE(valid_code_verifier(std::string(42, 'a')));
  EXPECT_FALSE(valid_code_verifier(std::string(129, 'a')));
  EXPECT_FALSE(valid_code_verifier(std::string(43, 'a') + "+"));
  EXPECT_TRUE(valid_s256_challenge(challenge));
  EXPECT_FALSE(valid_s256_challenge(challenge + "A"));
}

}  // namespace
}  // namespace keyledger::domain::oauth

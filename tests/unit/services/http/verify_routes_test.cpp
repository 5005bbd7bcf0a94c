// Verification: POST /v1/keys/verify and the gateway check /v1/check.
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

TEST_F(routes_test, verify_answers_valid_with_details_and_refusals_with_the_code_only) {
  auto k = create(
      R"({"name":"v","environment":"test","scopes":["leads:read"],"allowed_cidrs":["10.0.0.0/8"]})");
  auto ok = call("POST", "/v1/keys/verify",
                 R"({"key":")" + k.key + R"(","required_scopes":["leads:read"],"ip":"10.9.9.9"})",
                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(ok.status, 200u);
  auto d = parse(ok.body);
  EXPECT_TRUE(d["valid"].GetBool());
  EXPECT_EQ(std::string(d["code"].GetString()), "VALID");
  EXPECT_EQ(std::string(d["key_id"].GetString()), k.id);
  EXPECT_EQ(std::string(d["name"].GetString()), "v");
  EXPECT_TRUE(d["expires_at"].IsString());

  const std::pair<std::string, std::string> refusals[] = {
      {R"({"key":")" + k.key + R"("})", R"({"valid":false,"code":"FORBIDDEN_IP"})"},
      {R"({"key":")" + k.key + R"(","ip":"10.0.0.1","environment":"live"})",
       R"({"valid":false,"code":"WRONG_ENVIRONMENT"})"},
      {R"({"key":")" + k.key + R"(","ip":"10.0.0.1","required_scopes":["leads:write"]})",
       R"({"valid":false,"code":"INSUFFICIENT_SCOPE"})"},
      {R"({"key":"kl_live_nope"})", R"({"valid":false,"code":"MALFORMED"})"},
  };
  for (const auto& [body, answer] : refusals) {
    auto r = call("POST", "/v1/keys/verify", body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, answer);
  }
  for (const char* bad : {R"({"key":"x","ip":"10.0.0.300"})", R"({"key":"x","environment":"prod"})",
                          R"({"key":"x","required_scopes":["NOPE"]})"}) {
    EXPECT_EQ(code_of(call("POST", "/v1/keys/verify", bad, {{"Content-Type", "application/json"}})),
              "INVALID_FIELD")
        << bad;
  }
  EXPECT_EQ(code_of(call("POST", "/v1/keys/verify", "{}", {{"Content-Type", "application/json"}})),
            "MISSING_FIELD");
}

TEST_F(routes_test, check_answers_each_code_with_the_documented_status_body_and_headers) {
  auto k = create(R"({"name":"gw","environment":"live","scopes":["leads:read","leads:write"]})");
  auto ok = check(k.key, {{"X-Keyledger-Required-Scopes", "leads:read, leads:write"}});
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(ok.body, R"({"valid":true})");
  EXPECT_EQ(header_of(ok, "X-Keyledger-Key-Id"), k.id);
  EXPECT_EQ(header_of(ok, "X-Keyledger-Workspace"), workspace_id_);
  EXPECT_EQ(header_of(ok, "X-Keyledger-Environment"), "live");
  EXPECT_EQ(header_of(ok, "X-Keyledger-Scopes"), "leads:read leads:write");
  EXPECT_EQ(header_of(ok, "Cache-Control"), "no-store");
  // Bare key, query parameters, HEAD without a body, the Envoy form.
  EXPECT_EQ(
      call("GET", "/v1/check?scopes=leads:read&environment=live", "", {{"Authorization", k.key}})
          .status,
      200u);
  auto head = call("HEAD", "/v1/check", "", {{"Authorization", k.key}});
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(call("POST", "/v1/check/api/v2/leads?page=3", "x", {{"Authorization", k.key}}).status,
            200u);

  const auto expect_refusal = [&](const infra::http_response& r, unsigned status,
                                  const std::string& code) {
    EXPECT_EQ(r.status, status) << code << " " << r.body;
    const std::string title = status == 401 ? "Invalid API key" : "Insufficient permissions";
    const std::string message = status == 401 ? "The provided API key is invalid or expired"
                                              : "Your API key doesn't have access to this resource";
    EXPECT_EQ(r.body, R"({"error":")" + title + R"(","message":")" + message + R"(","code":")" +
                          code + R"(","request_id":"req_test"})");
    EXPECT_EQ(header_of(r, "WWW-Authenticate"), status == 401 ? "Bearer" : "(absent)");
  };
  expect_refusal(call("GET", "/v1/check"), 401, "MISSING_KEY");
  expect_refusal(check("kl_live_garbage"), 401, "MALFORMED");
  expect_refusal(check(domain::generate_key("kl", domain::environment::live, random_)), 401,
                 "NOT_FOUND");
  expect_refusal(check(k.key, {{"X-Keyledger-Environment", "test"}}), 403, "WRONG_ENVIRONMENT");
  expect_refusal(check(k.key, {}, "/v1/check?scopes=keys:read"), 403, "INSUFFICIENT_SCOPE");

  auto fenced = create(R"({"name":"f","environment":"live","allowed_cidrs":["10.0.0.0/8"]})");
  expect_refusal(check(fenced.key), 403, "FORBIDDEN_IP");
  EXPECT_EQ(check(fenced.key, {}, "/v1/check", "10.0.0.1").status, 200u);

  auto test_key = create(R"({"name":"t","environment":"test"})");
  expect_refusal(check(test_key.key, {}, "/v1/check?environment=live"), 403, "WRONG_ENVIRONMENT");

  auto off = create(R"({"name":"off","environment":"live","enabled":false})");
  expect_refusal(check(off.key), 401, "DISABLED");

  auto short_lived = create(R"({"name":"s","environment":"live","expires_in_days":1})");
  EXPECT_EQ(check(short_lived.key).status, 200u);
  clock_.advance(std::chrono::days(1));
  expect_refusal(check(short_lived.key), 401, "EXPIRED");

  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u);
  expect_refusal(check(k.key), 401, "REVOKED");

  auto limited =
      create(R"({"name":"rl","environment":"live","rate_limit":{"limit":2,"window_seconds":60}})");
  EXPECT_EQ(check(limited.key).status, 200u);
  // A refused check does not use up the limit.
  EXPECT_EQ(check(limited.key, {}, "/v1/check?scopes=x:y").status, 403u);
  EXPECT_EQ(check(limited.key).status, 200u);
  auto throttled = check(limited.key);
  EXPECT_EQ(throttled.status, 429u);
  EXPECT_EQ(header_of(throttled, "Retry-After"), "60");
  EXPECT_EQ(code_of(throttled), "RATE_LIMITED");
  EXPECT_EQ(parse(throttled.body)["retry_after"].GetInt(), 60);

  EXPECT_EQ(code_of(check(k.key, {{"X-Keyledger-Environment", "prod"}})), "INVALID_FIELD");
  EXPECT_EQ(code_of(call("GET", "/v1/check?other=1", "", {{"Authorization", k.key}})),
            "UNKNOWN_FIELD");
}

}  // namespace
}  // namespace keyledger::services::routes_testing

// The error taxonomy: one status per kind, and each surface's rendering of one problem.
#include "services/http/errors/errors.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace keyledger::services {
namespace {

using domain::problem;
using domain::problem_kind;

std::string header(const infra::http_response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return std::string(v);
  }
  return "(absent)";
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  EXPECT_FALSE(d.HasParseError()) << body;
  return d;
}

TEST(errors, every_kind_has_one_status_and_statuses_map_back) {
  for (const auto k :
       {problem_kind::invalid, problem_kind::unauthenticated, problem_kind::forbidden,
        problem_kind::not_found, problem_kind::method_not_allowed, problem_kind::conflict,
        problem_kind::too_large, problem_kind::unsupported_media, problem_kind::unprocessable,
        problem_kind::rate_limited, problem_kind::headers_too_large, problem_kind::unavailable,
        problem_kind::internal}) {
    EXPECT_EQ(kind_of_status(status_of(k)), k);
  }
  EXPECT_EQ(status_of(problem_kind::invalid), 400u);
  EXPECT_EQ(status_of(problem_kind::conflict), 409u);
  EXPECT_EQ(status_of(problem_kind::internal), 500u);
  EXPECT_EQ(kind_of_status(418), problem_kind::invalid);  // an unknown 4xx is still the client's
  EXPECT_EQ(kind_of_status(502), problem_kind::internal);
}

TEST(errors, json_keeps_the_documented_shape_and_field_level_text) {
  const auto r = json_error(problem::invalid("name", "field 'name' is wrong"), "req_1");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.body,
            R"({"error":"Bad request","message":"field 'name' is wrong","code":"INVALID_FIELD",)"
            R"("request_id":"req_1"})");
  // No text: the code's standard text.
  const auto missing = json_error(problem::missing("email"), "req_2");
  EXPECT_EQ(parse(missing.body)["message"].GetString(), std::string("field 'email' is required"));
  EXPECT_EQ(parse(json_error(problem::of(problem_kind::not_found, "NO_ROUTE"), "r").body)["message"]
                .GetString(),
            std::string("No route matches this path"));
}

TEST(errors, json_rate_limit_and_unavailable_carry_retry_after) {
  auto p = problem::of(problem_kind::rate_limited, "RATE_LIMITED");
  p.retry_after = std::chrono::seconds(7);
  const auto limited = json_error(p, "r");
  EXPECT_EQ(limited.status, 429u);
  EXPECT_EQ(header(limited, "Retry-After"), "7");
  EXPECT_EQ(parse(limited.body)["retry_after"].GetInt(), 7);
  const auto busy = json_error(problem_of(infra::errc::overloaded), "r");
  EXPECT_EQ(busy.status, 503u);
  EXPECT_EQ(header(busy, "Retry-After"), "1");
  EXPECT_EQ(header(json_error(problem::invalid("x", "y"), "r"), "Retry-After"), "(absent)");
}

TEST(errors, oauth_rendering_follows_rfc6749_section_5_2) {
  // An OAuth code is kept as the error; 400 with no-store.
  const auto grant = oauth_error(problem::of(problem_kind::invalid, "invalid_grant", "expired"));
  EXPECT_EQ(grant.status, 400u);
  const auto g = parse(grant.body);
  EXPECT_EQ(g["error"].GetString(), std::string("invalid_grant"));
  EXPECT_EQ(g["error_description"].GetString(), std::string("expired"));
  EXPECT_EQ(header(grant, "Cache-Control"), "no-store");
  // A keyledger code is named by its kind.
  const auto field = oauth_error(problem::invalid("scope", "bad scope"));
  EXPECT_EQ(parse(field.body)["error"].GetString(), std::string("invalid_request"));
  const auto client = oauth_error(problem::of(problem_kind::unauthenticated, "UNAUTHORIZED"));
  EXPECT_EQ(client.status, 401u);
  EXPECT_EQ(parse(client.body)["error"].GetString(), std::string("invalid_client"));
  EXPECT_NE(header(client, "WWW-Authenticate"), "(absent)");
  const auto internal = oauth_error(problem_of(infra::errc::storage));
  EXPECT_EQ(internal.status, 500u);
  EXPECT_EQ(parse(internal.body)["error"].GetString(), std::string("server_error"));
}

TEST(errors, html_rendering_escapes_and_forbids_framing) {
  const auto r =
      html_error(problem::invalid("redirect_uri", "<script>alert('x')</script> & more"), "req_9");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"),
            std::string::npos);
  EXPECT_NE(header(r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
}

TEST(errors, domain_and_user_refusals_name_their_field) {
  EXPECT_EQ(problem_of(domain::rejection::invalid_rate_limit).field, "rate_limit");
  EXPECT_EQ(problem_of(domain::rejection::key_revoked).code, "KEY_REVOKED");
  EXPECT_EQ(problem_of(domain::rejection::key_revoked).kind, problem_kind::conflict);
  EXPECT_EQ(problem_of(user_error::invalid_email).field, "email");
  EXPECT_EQ(problem_of(user_error::bad_credentials).kind, problem_kind::unauthenticated);
  const auto throttled = problem_of(user_error::throttled, std::chrono::seconds(30));
  EXPECT_EQ(throttled.retry_after, std::chrono::seconds(30));
}

}  // namespace
}  // namespace keyledger::services

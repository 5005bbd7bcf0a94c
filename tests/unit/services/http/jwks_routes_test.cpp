// GET /oauth/jwks: the published public keys as a JWK Set, unauthenticated, with cache headers
// well below the publication overlap.
#include "services/http/oauth/jwks_routes.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "infra/crypto/jws.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

class jwks_routes_test : public routes_test {
 protected:
  /// One pass of the key schedule, then the views catch up.
  std::string schedule() {
    const auto step = signing_key_service_.run_schedule(store_, signing_secrets_);
    feed();
    return step.kid;
  }

  /// The kids of a JWK Set, each JWK read strictly (public ES256 keys only).
  static std::vector<std::string> kids_of(const std::string& body) {
    std::vector<std::string> out;
    auto d = parse(body);
    EXPECT_TRUE(d.IsObject() && d.HasMember("keys") && d["keys"].IsArray()) << body;
    if (!d.IsObject() || !d.HasMember("keys") || !d["keys"].IsArray()) return out;
    EXPECT_EQ(d.MemberCount(), 1u) << body;
    for (const auto& k : d["keys"].GetArray()) {
      rapidjson::StringBuffer text;
      rapidjson::Writer<rapidjson::StringBuffer> w(text);
      k.Accept(w);
      const auto jwk = infra::parse_es256_jwk(std::string(text.GetString(), text.GetSize()));
      EXPECT_TRUE(jwk) << text.GetString();
      if (jwk) out.push_back(jwk->kid);
    }
    return out;
  }
};

TEST_F(jwks_routes_test, before_any_key_the_set_is_empty_and_not_cached) {
  const auto r = call("GET", "/oauth/jwks");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/jwk-set+json");
  EXPECT_EQ(r.body, R"({"keys":[]})");
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-cache");
}

TEST_F(jwks_routes_test, the_published_keys_are_served_without_authentication_and_cached_briefly) {
  const auto first = schedule();
  const auto r = call("GET", "/oauth/jwks");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.content_type, "application/jwk-set+json");
  EXPECT_EQ(header_of(r, "Cache-Control"), "public, max-age=300");
  EXPECT_EQ(header_of(r, "Keyledger-Version"), "2026-11-23");
  EXPECT_EQ(kids_of(r.body), std::vector{first});
  EXPECT_EQ(r.body.find(R"("d")"), std::string::npos);
  // The cache lifetime is far below the publication overlap of a new key.
  EXPECT_LT(std::chrono::seconds(http::jwks_max_age_seconds) * 100,
            signing_key_service_.policy().overlap);
  // A key named in Authorization changes nothing (the route takes no credential).
  EXPECT_EQ(call("GET", "/oauth/jwks", "", {{"Authorization", "Bearer nonsense"}}).body, r.body);
}

TEST_F(jwks_routes_test,
       a_successor_is_published_before_it_signs_and_the_old_key_after_it_retires) {
  const auto first = schedule();
  clock_.advance(29 * 24h);
  const auto second = schedule();
  EXPECT_EQ(kids_of(call("GET", "/oauth/jwks").body), (std::vector{first, second}));
  EXPECT_EQ(signing_keys_.active_kid(), first);
  clock_.advance(24h);
  schedule();
  EXPECT_EQ(signing_keys_.active_kid(), second);
  EXPECT_EQ(kids_of(call("GET", "/oauth/jwks").body), (std::vector{first, second}));
  clock_.advance(24h + 5min);
  EXPECT_EQ(kids_of(call("GET", "/oauth/jwks").body), std::vector{second});
}

TEST_F(jwks_routes_test, only_get_is_routed) {
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
    const auto r = call(m, "/oauth/jwks");
    EXPECT_EQ(r.status, 405u) << m;
    EXPECT_EQ(header_of(r, "Allow"), "GET") << m;
  }
  EXPECT_EQ(call("GET", "/oauth/jwks/").status, 404u);
  EXPECT_EQ(call("GET", "/oauth/jwks?x=1").status, 400u);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

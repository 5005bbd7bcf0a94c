#include "services/http/oauth/jwks_routes.hpp"

#include <memory>
#include <string>

#include "services/app/oauth/signing_key_ring.hpp"

namespace keyledger::services::http {
namespace {

/// The JWK Set media type (RFC 7517 section 8.5).
constexpr std::string_view jwk_set_media_type = "application/jwk-set+json";

class jwks_endpoints {
 public:
  explicit jwks_endpoints(jwks_routes_dependencies deps) : d_(deps) {}

  void jwks(call& c) {
    infra::http_response r;
    r.status = 200;
    r.content_type = jwk_set_media_type;
    r.body = d_.keys.jwks_json(d_.clock.now());
    const bool empty = r.body == R"({"keys":[]})";
    r.headers.emplace_back("Cache-Control",
                           empty ? std::string("no-cache")
                                 : "public, max-age=" + std::to_string(jwks_max_age_seconds));
    c.respond(std::move(r));
  }

 private:
  jwks_routes_dependencies d_;
};

}  // namespace

void add_jwks_routes(route_table& t, jwks_routes_dependencies deps) {
  using E = jwks_endpoints;
  const auto e = std::make_shared<jwks_endpoints>(deps);
  t.add({jwks_path, {{"GET", {}, "", {}, false, false, bind(e, &E::jwks)}}});
}

}  // namespace keyledger::services::http

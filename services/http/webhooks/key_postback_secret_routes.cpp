// POST /v1/keys/{id}/postback-secret: a new signing secret for the key's own postback URL.
#include "services/http/webhooks/key_postback_secret_routes.hpp"

#include <memory>
#include <string>

#include "domain/people/policy.hpp"
#include "infra/json/json.hpp"
#include "services/app/key_authorization.hpp"
#include "services/app/key_service.hpp"
#include "services/app/webhooks/endpoint_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {
namespace {

using domain::action;

class key_secret_endpoint {
 public:
  explicit key_secret_endpoint(key_postback_secret_dependencies deps) : d_(std::move(deps)) {}

  void mint(call& c) const {
    // The same rights as changing the key's postback URL (PATCH /v1/keys/{id}).
    if (!may(*c.who, action::keys_update_any, "keys:write") &&
        !may(*c.who, action::keys_update_own, "keys:write")) {
      return answer(c, forbidden(*c.who, action::keys_update_any));
    }
    if (!domain::valid_id("key", c.path_id)) return answer(c, not_found());
    d_.run.command(
        c,
        [this, id = c.path_id, who = *c.who,
         request_id = c.req.request_id](std::size_t worker) -> command_result {
          const auto key = d_.keys.load(d_.store_for(worker), id);
          if (auto refused =
                  refuse_key_command(who, key, action::keys_update_any, action::keys_update_own)) {
            return {json_error(*refused, request_id)};
          }
          const auto secret =
              d_.webhooks.service.mint_key_secret(d_.webhooks.store_for(worker), id);
          infra::json_writer w;
          w.begin_object()
              .field("key_id", id)
              .field("secret", secret.reveal())
              .field("postback_url_set", !key.postback_url.empty())
              .field("previous_signs_for_seconds",
                     static_cast<std::int64_t>(std::chrono::seconds(key_secret_overlap).count()))
              .end_object();
          // No event: nothing in the log changed (the secret is stored sealed beside it).
          auto response = json_response(201, w.take());
          response.headers.emplace_back("Cache-Control", "no-store");  // it holds the secret
          return {std::move(response), 0};
        });
  }

 private:
  key_postback_secret_dependencies d_;
};

}  // namespace

void add_key_postback_secret_route(route_table& t, key_postback_secret_dependencies deps) {
  const auto e = std::make_shared<key_secret_endpoint>(std::move(deps));
  const std::vector<credential> P{credential::api_key, credential::session};
  t.add({"/v1/keys/{id}/postback-secret",
         {{"POST", P, "keys:write", {}, false, true, [e](call& c) { e->mint(c); }}}});
}

}  // namespace keyledger::services::http

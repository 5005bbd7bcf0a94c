// The key object of docs/api.md.
#include <string>

#include "domain/net.hpp"
#include "domain/people/policy.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/keys/key_endpoints.hpp"
#include "services/http/router/form.hpp"
#include "services/http/support/body.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {

const infra::last_use* find_use(const std::vector<infra::last_use>& uses, std::string_view id) {
  for (const auto& u : uses) {
    if (u.key_id == id) return &u;
  }
  return nullptr;
}

infra::http_response key_object(const domain::api_key_state& k, const key_standing& standing,
                                domain::timestamp now, const infra::last_use* last,
                                unsigned status) {
  infra::json_writer w;
  w.begin_object();
  write_key_fields(w, k, standing, now, last);
  w.end_object();
  return json_response(status, w.take());
}

/// The answer to create and rotate: the new key with its secret, shown this once.
infra::http_response created_response(const created_key& created, const key_standing& standing,
                                      domain::timestamp now) {
  infra::json_writer w;
  w.begin_object();
  write_key_fields(w, created.state, standing, now, nullptr);
  // The secret leaves the process here, once.
  w.field("key", created.key.reveal()).end_object();
  auto r = json_response(201, w.take());
  r.headers.emplace_back("Location", "/v1/keys/" + created.state.key_id);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace keyledger::services::http

#include "services/http/support/respond.hpp"

#include "services/http/errors/errors.hpp"

namespace keyledger::services::http {

infra::http_response json_response(unsigned status, std::string body) {
  infra::http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

infra::http_response no_content() {
  infra::http_response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

void answer(const call& c, const domain::problem& p) { c.respond(json_error(p, c.req.request_id)); }

bool invalid(const call& c, std::string field, std::string text) {
  answer(c, domain::problem::invalid(std::move(field), std::move(text)));
  return false;
}

bool missing(const call& c, std::string field) {
  answer(c, domain::problem::missing(std::move(field)));
  return false;
}

}  // namespace keyledger::services::http

#include "services/http/oauth/client_authentication.hpp"

#include "domain/encoding.hpp"
#include "domain/text.hpp"
#include "services/app/oauth/client_service.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/http/router/form.hpp"
#include "services/projections/oauth_client_view.hpp"

namespace keyledger::services::http {
namespace {

namespace oauth = domain::oauth;

domain::problem invalid_client() {
  // One answer for every failure: which part was wrong is nobody's business.
  return oauth_problem("invalid_client", "Client authentication failed");
}

/// "Basic <base64(id:secret)>" with RFC 6749 2.3.1's form-urlencoding of id and secret.
std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view header) {
  constexpr std::string_view scheme = "basic ";
  if (header.size() <= scheme.size() ||
      !domain::iequals_ascii(header.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  const auto decoded = domain::base64_decode(domain::trim_ascii(header.substr(scheme.size())));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto id = percent_decode(std::string_view(*decoded).substr(0, colon));
  auto secret = percent_decode(std::string_view(*decoded).substr(colon + 1));
  if (!id || !secret || id->empty()) return std::nullopt;
  return std::pair{std::move(*id), std::move(*secret)};
}

}  // namespace

bool presents_client(const infra::http_request& req, const oauth_form& form) {
  return !req.header("authorization").empty() || form.get("client_id") || form.get("client_secret");
}

domain::result<authenticated_client, domain::problem> authenticate_client(
    const infra::http_request& req, const oauth_form& form, const oauth_client_view& clients,
    const client_service& service) {
  if (form.twice("client_id") || form.twice("client_secret")) {
    return oauth_problem("invalid_request", "a client parameter was sent more than once");
  }
  const auto header = req.header("authorization");
  const auto form_id = form.get("client_id");
  const auto form_secret = form.get("client_secret");
  std::string id;
  std::string secret;
  client_auth_method method = client_auth_method::none;
  if (!header.empty()) {
    if (form_secret) {
      return oauth_problem("invalid_request", "use one client authentication method, not two");
    }
    auto basic = basic_credentials(header);
    if (!basic) return invalid_client();
    // A client_id in the body as well must name the same client.
    if (form_id && *form_id != basic->first) return invalid_client();
    id = std::move(basic->first);
    secret = std::move(basic->second);
    method = client_auth_method::basic;
  } else if (form_id) {
    id = *form_id;
    if (form_secret) {
      secret = *form_secret;
      method = client_auth_method::post;
    }
  } else {
    return invalid_client();
  }
  auto client = oauth::valid_client_id(id) ? clients.find(id) : nullptr;
  if (!client || !client->exists || client->deleted || !client->enabled) return invalid_client();
  const bool confidential = client->type == oauth::client_type::confidential;
  if (confidential != (method != client_auth_method::none)) return invalid_client();
  if (confidential && !service.authenticate(*client, secret)) return invalid_client();
  return authenticated_client{std::move(client), method};
}

}  // namespace keyledger::services::http

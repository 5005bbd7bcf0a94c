#include "services/http/webhooks/postback_transport.hpp"

#include <memory>
#include <utility>

#include "infra/http/client.hpp"

namespace keyledger::services::http {

std::pair<std::string, std::string> split_postback_url(std::string_view url) {
  const auto authority = url.find("://");
  const auto rest = authority == std::string_view::npos ? std::string_view::npos
                                                        : url.find_first_of("/?", authority + 3);
  if (rest == std::string_view::npos) return {std::string(url), "/"};
  std::string target(url.substr(rest));
  if (target.front() == '?') target.insert(target.begin(), '/');
  return {std::string(url.substr(0, rest)), target};
}

postback_transport make_postback_transport(postback_transport_options options) {
  auto o = std::make_shared<const postback_transport_options>(std::move(options));
  return [o](const postback_request& r) -> postback_response {
    postback_response out;
    const auto [base, target] = split_postback_url(r.url);
    auto endpoint = infra::parse_http_url(base);
    if (!endpoint) {
      out.outcome = infra::attempt_outcome::refused;
      out.error = "the URL cannot be used: " + endpoint.error();
      return out;
    }
    infra::http_client_options client_options;
    client_options.connect_timeout = o->timeout;
    client_options.request_timeout = o->timeout;
    client_options.body_limit = o->response_body_limit;
    client_options.truncate_body = true;
    client_options.user_agent = "keyledger-webhooks/1";
    client_options.ca_file = o->ca_file;
    client_options.address_allowed = [o](std::string_view address) {
      return postback_address_allowed(address, o->allow_private);
    };
    infra::http_client client(std::move(endpoint.value()), std::move(client_options));
    infra::client_request request;
    request.method = "POST";
    request.target = target;
    request.headers = r.headers;
    request.body = r.body;
    const auto answer = client.send(request);
    if (answer) {
      out.status = answer->status;
      const bool ok = answer->status >= 200 && answer->status < 300;
      out.outcome = ok ? infra::attempt_outcome::delivered : infra::attempt_outcome::http_error;
      if (!ok) out.error = "HTTP " + std::to_string(answer->status);
      return out;
    }
    const auto& e = answer.error();
    out.outcome = e.timed_out ? infra::attempt_outcome::timeout
                  : e.refused ? infra::attempt_outcome::refused
                              : infra::attempt_outcome::network;
    out.error = e.message;
    return out;
  };
}

}  // namespace keyledger::services::http

#include "services/http/auth/credentials.hpp"

#include <algorithm>

#include "domain/encoding.hpp"
#include "domain/people/policy.hpp"
#include "domain/text.hpp"

namespace keyledger::services::http {

std::string_view presented_key(const infra::http_request& req) {
  auto header = domain::trim_ows(req.header("authorization"));
  if (header.size() > 7 && domain::iequals_ascii(header.substr(0, 7), "bearer ")) {
    header = domain::trim_ows(header.substr(7));
  }
  return header;
}

std::string_view session_cookie(const infra::http_request& req) {
  for (const auto& [name, value] : req.headers) {
    if (!domain::iequals_ascii(name, "cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto semi = std::min(rest.find(';'), rest.size());
      const auto pair = domain::trim_ows(rest.substr(0, semi));
      rest.remove_prefix(std::min(semi + 1, rest.size()));
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos ||
          domain::trim_ows(pair.substr(0, eq)) != session_cookie_name) {
        continue;
      }
      auto cookie = domain::trim_ows(pair.substr(eq + 1));
      if (cookie.size() >= 2 && cookie.front() == '"' && cookie.back() == '"') {
        cookie = cookie.substr(1, cookie.size() - 2);
      }
      // A value of another form names no session: nothing is looked up for it.
      if (domain::valid_session_token(cookie)) return cookie;
    }
  }
  return {};
}

std::string session_set_cookie(std::string_view session_id, bool loopback,
                               std::int64_t max_age_seconds) {
  std::string out = std::string(session_cookie_name) + "=" + std::string(session_id) +
                    "; Path=/; Max-Age=" + std::to_string(max_age_seconds) +
                    "; HttpOnly; SameSite=Lax";
  if (!loopback) out += "; Secure";
  return out;
}

}  // namespace keyledger::services::http

#include "services/http/auth/authenticators.hpp"

#include <array>
#include <string>

#include "services/app/user_service.hpp"
#include "services/app/verifier.hpp"
#include "services/http/auth/credentials.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services::http {
namespace {

using domain::problem;
using domain::problem_kind;

class api_key_authenticator final : public authenticator {
 public:
  api_key_authenticator(const verifier& verify, const directory_view& directory)
      : verify_(verify), directory_(directory) {}

  credential kind() const noexcept override { return credential::api_key; }

  bool presented(const infra::http_request& req) const override {
    return !presented_key(req).empty();
  }

  void authenticate(const std::shared_ptr<call>& c, const operation& op,
                    std::function<void()> next) const override {
    std::array<std::string, 1> scope{std::string(op.scope)};
    verify_request check;
    check.key = presented_key(c->req);
    if (!op.scope.empty()) check.required_scopes = scope;
    check.ip = c->client_ip;
    const auto result = verify_.verify(check);
    if (!result.valid() || !result.key) {
      return c->respond(refusal_response(result.valid() ? verify_code::not_found : result.code,
                                         result.retry_after, c->req.request_id, false));
    }
    c->key = result.key;
    c->who = principal_of(*result.key, directory_);
    next();
  }

 private:
  const verifier& verify_;
  const directory_view& directory_;
};

class session_authenticator final : public authenticator {
 public:
  session_authenticator(const user_service& users, const directory_view& directory,
                        std::function<infra::people_store&(std::size_t)> people_for,
                        const runner& run)
      : users_(users), directory_(directory), people_for_(std::move(people_for)), run_(run) {}

  credential kind() const noexcept override { return credential::session; }

  bool presented(const infra::http_request& req) const override {
    return !session_cookie(req).empty();
  }

  void authenticate(const std::shared_ptr<call>& c, const operation&,
                    std::function<void()> next) const override {
    c->session_id = std::make_shared<const infra::secret>(std::string(session_cookie(c->req)));
    // Looking the session up touches Postgres: the rest of this request runs on the pool.
    run_.blocking(*c, [this, c, next = std::move(next)](std::size_t worker) {
      auto who =
          users_.authenticate_session(people_for_(worker), directory_, c->session_id->reveal());
      if (!who) return answer(*c, problem::of(problem_kind::unauthenticated, "UNAUTHORIZED"));
      const bool write = c->req.method != "GET" && c->req.method != "HEAD";
      if (write && !users_.csrf_valid(c->session_id->reveal(), c->req.header("x-csrf-token"))) {
        return answer(*c, problem::of(problem_kind::forbidden, "CSRF_FAILED"));
      }
      c->who = std::move(*who);
      next();
    });
  }

 private:
  const user_service& users_;
  const directory_view& directory_;
  std::function<infra::people_store&(std::size_t)> people_for_;
  const runner& run_;
};

}  // namespace

principal principal_of(const key_entry& key, const directory_view& directory) {
  principal p;
  p.workspace_id = key.workspace_id();
  p.user_id = key.owner_user_id();
  if (!p.user_id.empty()) p.member_role = directory.role_of(p.workspace_id, p.user_id);
  p.key_id = key.key_id();
  p.scopes = key.effective_scopes();
  return p;
}

std::unique_ptr<authenticator> make_api_key_authenticator(const verifier& verify,
                                                          const directory_view& directory) {
  return std::make_unique<api_key_authenticator>(verify, directory);
}

std::unique_ptr<authenticator> make_session_authenticator(
    const user_service& users, const directory_view& directory,
    std::function<infra::people_store&(std::size_t)> people_for, const runner& run) {
  return std::make_unique<session_authenticator>(users, directory, std::move(people_for), run);
}

}  // namespace keyledger::services::http

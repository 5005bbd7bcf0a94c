// The router on its own: a table of fake endpoints and fake authenticators, no application.
#include "services/http/router/router.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "domain/text.hpp"
#include "services/http/router/form.hpp"

namespace keyledger::services::http {
namespace {

/// Accepts the credential "X-Test-<name>: ok"; refuses any other value with 401.
class header_authenticator final : public authenticator {
 public:
  header_authenticator(credential kind, std::string header) : kind_(kind), header_(header) {}
  credential kind() const noexcept override { return kind_; }
  bool presented(const infra::http_request& req) const override {
    return !req.header(header_).empty();
  }
  void authenticate(const std::shared_ptr<call>& c, const operation&,
                    std::function<void()> next) const override {
    if (c->req.header(header_) != "ok") {
      infra::http_response r;
      r.status = 401;
      return c->respond(std::move(r));
    }
    c->who = principal{};
    c->who->user_id = header_;
    next();
  }

 private:
  credential kind_;
  std::string header_;
};

struct answer_t {
  infra::http_response response;
  std::string who;
};

class router_test : public ::testing::Test {
 protected:
  router_test() {
    route_table t;
    auto echo = [this](call& c) {
      last_id_ = c.path_id;
      last_sub_id_ = c.path_sub_id;
      last_query_ = c.query;
      infra::http_response r;
      r.status = 200;
      r.body = c.who ? c.who->user_id : "(anonymous)";
      c.respond(std::move(r));
    };
    const std::vector<credential> both{credential::api_key, credential::session};
    t.add({"/v1/things/special", {{"GET", {}, "", {}, false, false, echo}}});
    t.add({"/v1/things/{id}",
           {{"GET", both, "", {"a", "b"}, false, false, echo},
            {"DELETE", both, "", {}, false, true, echo}}});
    t.add({"/v1/rest/{path}", {{"GET", {}, "", {}, true, false, echo}}});
    t.add({"/v1/things/{id}/parts/{part_id}/fix", {{"POST", {}, "", {}, false, false, echo}}});
    std::vector<std::unique_ptr<authenticator>> auth;
    auth.push_back(std::make_unique<header_authenticator>(credential::api_key, "x-test-key"));
    auth.push_back(std::make_unique<header_authenticator>(credential::session, "x-test-session"));
    router_ = std::make_unique<router>(std::move(t), std::move(auth), std::vector<domain::cidr>{});
  }

  infra::http_response send(std::string method, std::string target,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    infra::http_request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.headers = std::move(headers);
    req.request_id = "req_t";
    req.remote_ip = "127.0.0.1";
    infra::http_response out;
    router_->handle(std::move(req), [&out](infra::http_response r) { out = std::move(r); });
    return out;
  }

  std::unique_ptr<router> router_;
  std::string last_id_;
  std::string last_sub_id_;
  form_fields last_query_;
};

TEST_F(router_test, given_calls_reused_then_nothing_of_one_request_reaches_the_next) {
  // Finished calls are reset and kept per thread (new_call): a later request on the same thread
  // must see its own id, query, principal and body only.
  EXPECT_EQ(send("GET", "/v1/things/one?a=1", {{"X-Test-Session", "ok"}}).body, "x-test-session");
  EXPECT_EQ(last_id_, "one");
  EXPECT_EQ(last_query_.size(), 1u);
  EXPECT_EQ(send("GET", "/v1/things/special").body, "(anonymous)");
  EXPECT_EQ(last_id_, "");
  EXPECT_TRUE(last_query_.empty());
  EXPECT_EQ(send("POST", "/v1/things/x/parts/p/fix").status, 200u);
  EXPECT_EQ(last_sub_id_, "p");

  // A kept call is a default call, its request emptied, whatever it held.
  std::weak_ptr<call> first;
  {
    auto c = new_call();
    c->req.target = "/v1/secret-path";
    c->req.headers.emplace_back("Authorization", "Bearer kl_live_secret");
    c->path_id = "id";
    c->client_ip_text = "203.0.113.9";
    first = c;
  }
  EXPECT_TRUE(first.expired());
  const auto again = new_call();
  EXPECT_TRUE(again->req.target.empty());
  for (const auto& [name, value] : again->req.headers) {
    EXPECT_TRUE(name.empty() && value.empty());
  }
  EXPECT_TRUE(again->path_id.empty());
  EXPECT_TRUE(again->client_ip_text.empty());
  EXPECT_FALSE(again->who.has_value());
  EXPECT_EQ(again->key, nullptr);
  EXPECT_FALSE(static_cast<bool>(again->session_id));
}

TEST_F(router_test, literal_paths_win_when_added_first_and_ids_are_captured) {
  EXPECT_EQ(send("GET", "/v1/things/special").body, "(anonymous)");
  const auto r = send("GET", "/v1/things/t_1?a=x%20y&b", {{"X-Test-Key", "ok"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(last_id_, "t_1");
  EXPECT_EQ(last_query_, (form_fields{{"a", "x y"}, {"b", ""}}));
}

TEST_F(router_test, a_second_named_placeholder_is_captured_apart_from_the_id) {
  EXPECT_EQ(send("POST", "/v1/things/t_1/parts/p_2/fix").status, 200u);
  EXPECT_EQ(last_id_, "t_1");
  EXPECT_EQ(last_sub_id_, "p_2");
  for (const char* path : {"/v1/things/t_1/parts//fix", "/v1/things/t_1/parts/p_2",
                           "/v1/things/t_1/parts/p_2/fix/more"}) {
    EXPECT_EQ(send("POST", path).status, 404u) << path;
  }
  EXPECT_EQ(send("GET", "/v1/things/t_1", {{"X-Test-Key", "ok"}}).status, 200u);
  EXPECT_EQ(last_sub_id_, "") << "only templates that have one set it";
}

TEST_F(router_test, unknown_paths_are_404_and_unknown_methods_405_with_allow) {
  EXPECT_EQ(send("GET", "/v1/nothing").status, 404u);
  const auto r = send("PUT", "/v1/things/t_1");
  EXPECT_EQ(r.status, 405u);
  bool allow = false;
  for (const auto& [n, v] : r.headers) allow = allow || (n == "Allow" && v == "GET, DELETE");
  EXPECT_TRUE(allow);
}

TEST_F(router_test, the_first_presented_credential_decides_and_none_is_401) {
  EXPECT_EQ(send("GET", "/v1/things/t").status, 401u);
  EXPECT_EQ(send("GET", "/v1/things/t", {{"X-Test-Session", "ok"}}).body, "x-test-session");
  // Both presented: the key comes first in the operation's list.
  EXPECT_EQ(send("GET", "/v1/things/t", {{"X-Test-Session", "ok"}, {"X-Test-Key", "ok"}}).body,
            "x-test-key");
  // The first presented one refuses: no fall-back to the next.
  EXPECT_EQ(send("GET", "/v1/things/t", {{"X-Test-Session", "ok"}, {"X-Test-Key", "bad"}}).status,
            401u);
}

TEST_F(router_test, queries_are_checked_after_authentication_and_opaque_ones_not_at_all) {
  EXPECT_EQ(send("GET", "/v1/things/t?c=1", {{"X-Test-Key", "ok"}}).status, 400u);
  EXPECT_EQ(send("GET", "/v1/things/t?a=1&a=2", {{"X-Test-Key", "ok"}}).status, 400u);
  EXPECT_EQ(send("GET", "/v1/things/t?a=%zz", {{"X-Test-Key", "ok"}}).status, 400u);
  EXPECT_EQ(send("GET", "/v1/things/t?c=1").status, 401u);
  EXPECT_EQ(send("GET", "/v1/rest/any/thing?whatever=%zz").status, 200u);
}

TEST_F(router_test, version_and_idempotency_key_are_checked_and_every_answer_is_stamped) {
  EXPECT_EQ(send("GET", "/v1/things/special", {{"Keyledger-Version", "1999-01-01"}}).status, 400u);
  EXPECT_EQ(
      send("DELETE", "/v1/things/t", {{"X-Test-Key", "ok"}, {"Idempotency-Key", "a b"}}).status,
      400u);
  const auto r = send("GET", "/v1/nothing");
  bool stamped = false;
  for (const auto& [n, v] : r.headers) stamped = stamped || n == "Keyledger-Version";
  EXPECT_TRUE(stamped);
}

TEST(route_table_test, a_path_added_twice_is_a_programming_error) {
  route_table t;
  t.add({"/x", {}});
  EXPECT_THROW(t.add({"/x", {}}), std::logic_error);
}

TEST(router_construction, an_operation_without_its_authenticator_is_refused) {
  route_table t;
  t.add({"/x", {{"GET", {credential::session}, "", {}, false, false, [](call&) {}}}});
  EXPECT_THROW(router(std::move(t), {}, {}), std::logic_error);
}

TEST(form, parse_form_decodes_and_refuses_like_the_query) {
  const std::string_view known[] = {"grant_type", "code"};
  auto ok = parse_form("grant_type=authorization_code&code=a%2Bb+c", known, form_source::body);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value(), (form_fields{{"grant_type", "authorization_code"}, {"code", "a+b c"}}));
  auto unknown = parse_form("scope=x", known, form_source::body);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "UNKNOWN_FIELD");
  EXPECT_EQ(unknown.error().text, "unknown form field 'scope'");
  auto twice = parse_form("code=1&code=2", known, form_source::body);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "code");
  EXPECT_FALSE(parse_form("code=%0a", known, form_source::body));
  EXPECT_EQ(domain::echoable_name("<b>"), "(name not shown)");
}

}  // namespace
}  // namespace keyledger::services::http

// OAuth client commands in the application layer, over the in-memory event store: who may run
// them, the secret shown once and stored as a keyed hash only, workspace isolation, rotation.
#include "services/app/oauth/client_service.hpp"

#include <gtest/gtest.h>

#include "infra/crypto/crypto.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;
using namespace std::chrono_literals;
using domain::problem_kind;

principal person(domain::role r, std::string workspace = "ws_1") {
  principal p;
  p.workspace_id = std::move(workspace);
  p.user_id = "usr_person";
  p.member_role = r;
  p.session_id_hash = "h";
  return p;
}

principal key_with(std::vector<std::string> scopes) {
  principal p;
  p.workspace_id = "ws_1";
  p.user_id = "usr_person";
  p.member_role = domain::role::owner;
  p.key_id = "key_acting";
  p.scopes = std::move(scopes);
  return p;
}

oauth::client_settings app() {
  oauth::client_settings s;
  s.name = "Lead importer";
  s.redirect_uris = {"https://app.example.com/cb"};
  s.grant_types = {oauth::grant_type::authorization_code, oauth::grant_type::refresh_token};
  s.allowed_scopes = {"leads:read"};
  return s;
}

class client_service_test : public ::testing::Test {
 protected:
  client_service_test()
      : hasher_(infra::secret(std::string(32, 's'))), service_(hasher_, random_, clock_) {}

  client_with_secret registered(oauth::client_type type = oauth::client_type::confidential) {
    auto r = service_.register_client(store_, person(domain::role::admin), type, app(), ctx_);
    EXPECT_TRUE(r.ok());
    return std::move(r.value());
  }

  infra::openssl_random_source random_;
  test_support::manual_clock clock_{domain::timestamp(std::chrono::seconds(1'800'000'000))};
  infra::hmac_key_hasher hasher_;
  test_support::memory_event_store store_;
  client_service service_;
  request_context ctx_{"usr_person", "req_1", "127.0.0.1", ""};
};

TEST_F(client_service_test, the_secret_is_returned_once_and_only_its_keyed_hash_is_stored) {
  const auto c = registered();
  const std::string secret(c.secret.reveal());
  EXPECT_TRUE(secret.starts_with(client_secret_prefix));
  EXPECT_EQ(secret.size(), client_secret_prefix.size() + 43);
  EXPECT_TRUE(oauth::valid_client_id(c.client.client_id));
  EXPECT_GT(c.global_seq, 0u);
  for (const auto& e : store_.read_all(0, 100)) {
    EXPECT_EQ(e.payload.find(secret), std::string::npos) << "no secret in an event";
    EXPECT_EQ(e.metadata.find(secret), std::string::npos);
  }
  const auto loaded = service_.load(store_, c.client.client_id);
  EXPECT_EQ(loaded.secret_hash, hasher_.hash_hex(secret));
  EXPECT_TRUE(service_.authenticate(loaded, secret));
  EXPECT_FALSE(service_.authenticate(loaded, secret + "x"));
  EXPECT_FALSE(service_.authenticate(loaded, "klcs_" + std::string(43, 'A')));
}

TEST_F(client_service_test, a_public_client_has_no_secret) {
  const auto c = registered(oauth::client_type::public_client);
  EXPECT_TRUE(c.secret.reveal().empty());
  EXPECT_FALSE(service_.authenticate(c.client, "klcs_anything"));
  const auto rotated =
      service_.rotate_secret(store_, person(domain::role::owner), c.client.client_id, 1h, ctx_);
  ASSERT_FALSE(rotated.ok());
  EXPECT_EQ(rotated.error().code, "NOT_CONFIDENTIAL");
}

TEST_F(client_service_test, only_owners_and_admins_and_keys_with_workspace_admin_manage_clients) {
  for (const auto r : {domain::role::member, domain::role::auditor}) {
    const auto refused =
        service_.register_client(store_, person(r), oauth::client_type::confidential, app(), ctx_);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, problem_kind::forbidden);
  }
  EXPECT_FALSE(service_
                   .register_client(store_, key_with({"keys:write"}),
                                    oauth::client_type::confidential, app(), ctx_)
                   .ok());
  EXPECT_TRUE(service_
                  .register_client(store_, key_with({"workspace:admin"}),
                                   oauth::client_type::confidential, app(), ctx_)
                  .ok());
  const auto c = registered();
  const auto member_disable =
      service_.disable(store_, person(domain::role::member), c.client.client_id, ctx_);
  ASSERT_FALSE(member_disable.ok());
  EXPECT_EQ(member_disable.error().kind, problem_kind::forbidden);
}

TEST_F(client_service_test, another_workspaces_client_does_not_exist_for_the_caller) {
  const auto c = registered();
  const auto other = person(domain::role::owner, "ws_2");
  for (const auto& result :
       {service_.disable(store_, other, c.client.client_id, ctx_),
        service_.remove(store_, other, c.client.client_id, ctx_),
        service_.update(store_, other, c.client.client_id, {.name = "x"}, ctx_),
        service_.disable(store_, person(domain::role::owner), "cli_nope", ctx_)}) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, problem_kind::not_found);
  }
}

TEST_F(client_service_test, settings_rules_come_back_as_field_problems) {
  auto bad = app();
  bad.redirect_uris = {"http://app.example.com/cb"};
  const auto r = service_.register_client(store_, person(domain::role::owner),
                                          oauth::client_type::confidential, bad, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "INVALID_FIELD");
  EXPECT_EQ(r.error().field, "redirect_uris");
  EXPECT_TRUE(store_.read_all(0, 10).empty()) << "nothing appended";
}

TEST_F(client_service_test, a_rotation_overlaps_then_the_old_secret_stops_and_delete_ends_all) {
  const auto c = registered();
  const std::string old_secret(c.secret.reveal());
  const auto rotated =
      service_.rotate_secret(store_, person(domain::role::owner), c.client.client_id, 10min, ctx_);
  ASSERT_TRUE(rotated.ok());
  const std::string new_secret(rotated->secret.reveal());
  EXPECT_NE(new_secret, old_secret);
  auto state = service_.load(store_, c.client.client_id);
  EXPECT_TRUE(service_.authenticate(state, new_secret));
  EXPECT_TRUE(service_.authenticate(state, old_secret));
  clock_.advance(10min);
  EXPECT_FALSE(service_.authenticate(state, old_secret));
  EXPECT_TRUE(service_.authenticate(state, new_secret));
  ASSERT_TRUE(service_.disable(store_, person(domain::role::admin), c.client.client_id, ctx_).ok());
  state = service_.load(store_, c.client.client_id);
  EXPECT_FALSE(service_.authenticate(state, new_secret)) << "a disabled client cannot authenticate";
  ASSERT_TRUE(service_.remove(store_, person(domain::role::admin), c.client.client_id, ctx_).ok());
  EXPECT_EQ(
      service_.enable(store_, person(domain::role::admin), c.client.client_id, ctx_).error().kind,
      problem_kind::not_found);
}

}  // namespace
}  // namespace keyledger::services

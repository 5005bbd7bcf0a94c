// OAuth clients: every decide rule, given/when/then, with an injected instant.
#include <gtest/gtest.h>

#include "domain/oauth/client.hpp"
#include "tests/unit/domain/fakes.hpp"

namespace keyledger::domain::oauth {
namespace {

using namespace std::chrono_literals;
using testing::fixed_instant;

const std::string a_client_id = "cli_0123456789abcdefghijkl";
const std::string a_hash(64, 'a');
const std::string another_hash(64, 'b');

client_settings web_app() {
  client_settings s;
  s.name = "Lead importer";
  s.redirect_uris = {"https://app.example.com/callback"};
  s.grant_types = {grant_type::authorization_code, grant_type::refresh_token};
  s.allowed_scopes = {"leads:read"};
  return s;
}

register_client registration(client_type type = client_type::confidential) {
  return {a_client_id,
          "ws_1",
          type,
          web_app(),
          type == client_type::confidential ? a_hash : std::string(),
          "usr_owner",
          fixed_instant()};
}

client_state registered(client_type type = client_type::confidential) {
  auto events = decide(client_state{}, registration(type));
  EXPECT_TRUE(events.ok());
  client_state s;
  for (const auto& e : events.value()) s = evolve(std::move(s), e);
  return s;
}

std::optional<client_rejection> rejection_of(const client_state& s, const client_command& c) {
  auto r = decide(s, c);
  if (r.ok()) return std::nullopt;
  return r.error();
}

TEST(oauth_client, given_a_registration_then_the_state_holds_it_and_only_a_hash) {
  const auto s = registered();
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.version, 1u);
  EXPECT_EQ(s.settings, web_app());
  EXPECT_EQ(s.secret_hash, a_hash);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(rejection_of(s, registration()), client_rejection::client_already_exists);
}

TEST(oauth_client, redirect_uris_are_https_or_http_to_a_loopback_ip_without_tricks) {
  for (std::string_view good : {"https://app.example.com/callback", "https://app.example.com",
                                "https://app.example.com:8443/cb?x=1", "http://127.0.0.1:8080/cb",
                                "http://[::1]/cb", "https://[2001:db8::1]/cb"}) {
    EXPECT_TRUE(valid_redirect_uri(good)) << good;
  }
  for (std::string_view bad :
       {"http://app.example.com/cb",  // plain http to a remote host
        "http://localhost/cb",        // a name may resolve elsewhere (RFC 8252 7.3)
        "https://app.example.com/cb#frag", "https://*.example.com/cb",
        "https://user:pass@app.example.com/cb", "HTTPS://app.example.com/cb",
        "https://app.example.com/c b", "app.example.com/cb", "javascript://x", "https:///cb",
        "https://app.example.com:/cb", "https://app.example.com:99999/cb", "custom://app/cb",
        "https://app.example.com/cb\n"}) {
    EXPECT_FALSE(valid_redirect_uri(bad)) << bad;
  }
  EXPECT_FALSE(valid_redirect_uri("https://a.example/" + std::string(2048, 'x')));
}

TEST(oauth_client, given_bad_settings_then_registration_names_the_rule) {
  auto c = registration();
  c.settings.redirect_uris = {"https://a.example/cb", "https://a.example/cb"};
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_redirect_uris);
  c = registration();
  c.settings.redirect_uris.clear();  // authorization_code needs one
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_redirect_uris);
  c = registration();
  c.settings.grant_types = {grant_type::refresh_token};
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_grant_types);
  c = registration();
  c.settings.grant_types = {};
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_grant_types);
  c = registration();
  c.settings.allowed_scopes = {"Leads:Read"};
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_scopes);
  c = registration();
  c.settings.access_token_lifetime = 30s;
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_lifetimes);
  c = registration();
  c.settings.refresh_idle_lifetime = std::chrono::days(40);  // beyond the absolute 30 days
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_lifetimes);
  c = registration();
  c.settings.name = "";
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_name);
  c = registration();
  c.client_id = "key_0123456789abcdefghijkl";
  EXPECT_EQ(rejection_of({}, c), client_rejection::invalid_client_id);
}

TEST(oauth_client, a_public_client_has_no_secret_and_no_client_credentials) {
  auto pub = registration(client_type::public_client);
  EXPECT_FALSE(rejection_of({}, pub));
  pub.secret_hash = a_hash;
  EXPECT_EQ(rejection_of({}, pub), client_rejection::invalid_secret);
  pub = registration(client_type::public_client);
  pub.settings.grant_types.push_back(grant_type::client_credentials);
  EXPECT_EQ(rejection_of({}, pub), client_rejection::invalid_grant_types);
  auto conf = registration();
  conf.secret_hash = "";
  EXPECT_EQ(rejection_of({}, conf), client_rejection::invalid_secret);
  // A machine client: client_credentials alone needs no redirect URI.
  conf = registration();
  conf.settings.grant_types = {grant_type::client_credentials};
  conf.settings.redirect_uris.clear();
  EXPECT_FALSE(rejection_of({}, conf));
  EXPECT_EQ(rejection_of(registered(client_type::public_client),
                         rotate_client_secret{a_client_id, another_hash, 1h, fixed_instant()}),
            client_rejection::not_confidential);
}

TEST(oauth_client, an_update_records_only_what_differs_and_keeps_the_rules) {
  const auto s = registered();
  update_client same{a_client_id, {.name = web_app().name}, fixed_instant() + 1s};
  auto none = decide(s, same);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());
  update_client rename{a_client_id,
                       {.name = "Renamed", .allowed_scopes = web_app().allowed_scopes},
                       fixed_instant() + 1s};
  auto events = decide(s, rename);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events.value().size(), 1u);
  const auto& u = std::get<client_updated>(events.value().front());
  EXPECT_EQ(u.changes.name, "Renamed");
  EXPECT_FALSE(u.changes.allowed_scopes);  // unchanged: not recorded
  EXPECT_EQ(evolve(s, events.value().front()).settings.name, "Renamed");
  // The rules hold after the patch: removing every redirect URI of a code client is refused.
  update_client strip{a_client_id, {.redirect_uris = std::vector<std::string>{}}, fixed_instant()};
  EXPECT_EQ(rejection_of(s, strip), client_rejection::invalid_redirect_uris);
}

TEST(oauth_client, a_rotated_secret_overlaps_for_the_grace_period_only) {
  auto s = registered();
  const auto now = fixed_instant() + 1h;
  auto events = decide(s, rotate_client_secret{a_client_id, another_hash, 10min, now});
  ASSERT_TRUE(events.ok());
  s = evolve(s, events.value().front());
  using hashes = std::vector<std::string_view>;
  EXPECT_EQ(s.accepted_secret_hashes(now), (hashes{another_hash, a_hash}));
  EXPECT_EQ(s.accepted_secret_hashes(now + 9min), (hashes{another_hash, a_hash}));
  EXPECT_EQ(s.accepted_secret_hashes(now + 10min), (hashes{another_hash}));
  EXPECT_EQ(rejection_of(s, rotate_client_secret{a_client_id, another_hash, 1h, now}),
            client_rejection::invalid_secret);  // the same secret again
  EXPECT_EQ(rejection_of(s, rotate_client_secret{a_client_id, a_hash, std::chrono::days(31), now}),
            client_rejection::invalid_grace_period);
}

TEST(oauth_client, disable_enable_and_delete_and_nothing_after_deletion) {
  auto s = registered();
  auto off = decide(s, disable_client{a_client_id, fixed_instant()});
  ASSERT_TRUE(off.ok());
  s = evolve(s, off.value().front());
  EXPECT_FALSE(s.enabled);
  EXPECT_TRUE(decide(s, disable_client{a_client_id, fixed_instant()}).value().empty());
  EXPECT_EQ(s.tokens_not_before, fixed_instant()) << "tokens issued until now end for good";
  s = evolve(s, decide(s, enable_client{a_client_id, fixed_instant()}).value().front());
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.tokens_not_before, fixed_instant()) << "enabling does not bring them back";
  s = evolve(s, decide(s, delete_client{a_client_id, fixed_instant()}).value().front());
  EXPECT_TRUE(s.deleted);
  EXPECT_TRUE(s.accepted_secret_hashes(fixed_instant()).empty());
  EXPECT_EQ(rejection_of(s, enable_client{a_client_id, fixed_instant()}),
            client_rejection::client_deleted);
  EXPECT_EQ(rejection_of(client_state{}, delete_client{a_client_id, fixed_instant()}),
            client_rejection::client_not_found);
}

TEST(oauth_client, names_and_streams) {
  EXPECT_EQ(client_stream_id(a_client_id), "oauth_client-" + a_client_id);
  EXPECT_EQ(parse_grant_type("client_credentials"), grant_type::client_credentials);
  EXPECT_EQ(parse_grant_type("password"), std::nullopt);  // never offered (RFC 9700 2.4)
  EXPECT_EQ(parse_client_type("public"), client_type::public_client);
  EXPECT_EQ(event_type(client_event{client_deleted{}}), "ClientDeleted");
}

}  // namespace
}  // namespace keyledger::domain::oauth

// OAuth client event payloads: round trips, the exact stored bytes of one event, and refusals.
#include "infra/json/oauth_codec.hpp"

#include <gtest/gtest.h>

namespace keyledger::infra {
namespace {

namespace oauth = domain::oauth;
using namespace std::chrono_literals;

domain::timestamp at(std::int64_t seconds) {
  return domain::timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

oauth::client_settings settings() {
  oauth::client_settings s;
  s.name = "Lead importer";
  s.redirect_uris = {"https://app.example.com/cb"};
  s.grant_types = {oauth::grant_type::authorization_code, oauth::grant_type::refresh_token};
  s.allowed_scopes = {"leads:read"};
  return s;
}

void round_trips(const oauth::client_event& e) {
  const auto payload = encode_payload(e);
  EXPECT_EQ(encode_payload(e), payload) << "deterministic";
  const auto back = decode_client_event(oauth::event_type(e), payload);
  ASSERT_TRUE(back) << payload;
  EXPECT_EQ(*back, e) << payload;
}

TEST(oauth_codec, every_event_round_trips) {
  round_trips(oauth::client_registered{"cli_1", "ws_1", oauth::client_type::confidential,
                                       settings(), std::string(64, 'a'), "usr_1", at(0)});
  round_trips(oauth::client_registered{"cli_2", "ws_1", oauth::client_type::public_client,
                                       settings(), "", "usr_1", at(1)});
  oauth::client_settings_patch changes;
  changes.name = "Renamed";
  changes.grant_types = std::vector{oauth::grant_type::client_credentials};
  changes.access_token_lifetime = 300s;
  round_trips(oauth::client_updated{"cli_1", changes, at(2)});
  round_trips(oauth::client_updated{"cli_1", {}, at(3)});
  round_trips(oauth::client_secret_rotated{"cli_1", std::string(64, 'b'), at(90), at(4)});
  round_trips(oauth::client_disabled{"cli_1", at(5)});
  round_trips(oauth::client_enabled{"cli_1", at(6)});
  round_trips(oauth::client_deleted{"cli_1", at(7)});
}

TEST(oauth_codec, the_stored_bytes_are_fixed) {
  const auto payload = encode_payload(oauth::client_registered{
      "cli_1", "ws_1", oauth::client_type::public_client, settings(), "", "usr_1", at(0)});
  EXPECT_EQ(payload,
            R"({"client_id":"cli_1","workspace_id":"ws_1","type":"public","settings":{)"
            R"("name":"Lead importer","redirect_uris":["https://app.example.com/cb"],)"
            R"("grant_types":["authorization_code","refresh_token"],"allowed_scopes":)"
            R"(["leads:read"],"access_token_lifetime_seconds":600,)"
            R"("refresh_idle_lifetime_seconds":2592000,"refresh_absolute_lifetime_seconds":)"
            R"(2592000},"secret_hash":null,"registered_by":"usr_1",)"
            R"("registered_at":"2027-01-15T08:00:00.000000Z"})");
}

TEST(oauth_codec, what_does_not_decode_is_refused_never_thrown) {
  EXPECT_FALSE(decode_client_event("KeyCreated", R"({"client_id":"cli_1"})"));
  EXPECT_FALSE(decode_client_event("ClientDeleted", R"({"client_id":"cli_1"})"));
  EXPECT_FALSE(decode_client_event("ClientDeleted", "not json"));
  EXPECT_FALSE(decode_client_event("ClientDeleted", R"({"client_id":"cli_1","at":"yesterday"})"));
  EXPECT_FALSE(decode_client_event("ClientUpdated",
                                   R"({"client_id":"cli_1","grant_types":["password"],)"
                                   R"("updated_at":"2027-01-15T08:00:00Z"})"));
  EXPECT_FALSE(decode_client_event(
      "ClientRegistered", R"({"client_id":"cli_1","workspace_id":"ws_1","type":"secret"})"));
}

}  // namespace
}  // namespace keyledger::infra

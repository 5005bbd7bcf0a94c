// Signing key event payloads: round trips, the exact stored bytes of each event, and refusals.
#include "infra/json/signing_key_codec.hpp"

#include <gtest/gtest.h>

namespace keyledger::infra {
namespace {

namespace oauth = domain::oauth;

domain::timestamp at(std::int64_t seconds) {
  return domain::timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

const std::string jwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"sig_1","use":"sig",)"
    R"("alg":"ES256"})";

void round_trips(const oauth::signing_key_event& e) {
  const auto payload = encode_payload(e);
  EXPECT_EQ(encode_payload(e), payload) << "deterministic";
  const auto back = decode_signing_key_event(oauth::event_type(e), payload);
  ASSERT_TRUE(back) << payload;
  EXPECT_EQ(*back, e) << payload;
}

TEST(signing_key_codec, every_event_round_trips) {
  round_trips(oauth::signing_key_created{"sig_1", "ES256", jwk, at(0), at(86400)});
  round_trips(oauth::signing_key_activated{"sig_1", at(86400)});
  round_trips(oauth::signing_key_retired{"sig_1", at(90000), at(90000 + 86700)});
}

TEST(signing_key_codec, the_stored_bytes_are_fixed) {
  EXPECT_EQ(encode_payload(oauth::signing_key_created{"sig_1", "ES256", jwk, at(0), at(86400)}),
            R"({"kid":"sig_1","alg":"ES256","public_jwk":"{\"kty\":\"EC\",\"crv\":\"P-256\",)"
            R"(\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",)"
            R"(\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\"kid\":\"sig_1\",)"
            R"(\"use\":\"sig\",\"alg\":\"ES256\"}","created_at":"2027-01-15T08:00:00.000000Z",)"
            R"("activate_after":"2027-01-16T08:00:00.000000Z"})");
  EXPECT_EQ(encode_payload(oauth::signing_key_activated{"sig_1", at(86400)}),
            R"({"kid":"sig_1","at":"2027-01-16T08:00:00.000000Z"})");
  EXPECT_EQ(encode_payload(oauth::signing_key_retired{"sig_1", at(0), at(60)}),
            R"({"kid":"sig_1","at":"2027-01-15T08:00:00.000000Z",)"
            R"("publish_until":"2027-01-15T08:01:00.000000Z"})");
}

TEST(signing_key_codec, what_does_not_decode_is_refused_never_thrown) {
  const std::string activated = R"({"kid":"sig_1","at":"2027-01-16T08:00:00Z"})";
  EXPECT_TRUE(decode_signing_key_event("SigningKeyActivated", activated));
  EXPECT_FALSE(decode_signing_key_event("ClientDeleted", activated));
  EXPECT_FALSE(decode_signing_key_event("SigningKeyRetired", activated));  // no publish_until
  EXPECT_FALSE(decode_signing_key_event("SigningKeyActivated", R"({"kid":"sig_1"})"));
  EXPECT_FALSE(
      decode_signing_key_event("SigningKeyActivated", R"({"kid":1,"at":"2027-01-16T08:00:00Z"})"));
  EXPECT_FALSE(
      decode_signing_key_event("SigningKeyActivated", R"({"kid":"sig_1","at":"tomorrow"})"));
  EXPECT_FALSE(decode_signing_key_event(
      "SigningKeyActivated", R"({"kid":"sig_1","kid":"sig_2","at":"2027-01-16T08:00:00Z"})"));
  EXPECT_FALSE(decode_signing_key_event("SigningKeyActivated", activated + " x"));
  EXPECT_FALSE(decode_signing_key_event("SigningKeyActivated", ""));
  EXPECT_FALSE(decode_signing_key_event("SigningKeyActivated", "[]"));
  EXPECT_FALSE(decode_signing_key_event(
      "SigningKeyCreated",
      R"({"kid":"sig_1","alg":"ES256","public_jwk":{},)"
      R"("created_at":"2027-01-15T08:00:00Z","activate_after":"2027-01-15T08:00:00Z"})"));
  EXPECT_FALSE(decode_signing_key_event("SigningKeyCreated",
                                        R"({"kid":"sig_1","alg":"ES256","public_jwk":"{}",)"
                                        R"("created_at":"2027-01-15T08:00:00Z"})"));
}

}  // namespace
}  // namespace keyledger::infra

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

// Found by tests/fuzz event_codecs (corpus/event_codecs/regression_lone_surrogate): an escaped
// lone surrogate ("\uDdef") decoded to bytes that are not UTF-8, and the payload re-encoded to
// other bytes. Such a payload does not decode; a surrogate pair still does.
TEST(signing_key_codec, a_payload_with_a_lone_surrogate_escape_does_not_decode) {
  const std::string payload =
      R"({"kid":"sig_1","alg":"ES256","public_jwk":"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\bf)"
      R"(83:\"x_FEzRu9m36HLN_tue659LNpXWU\",\"y\uEdefgHijkzV75g8requesHvRVEU\",\"y\uEdefgHizV76)"
      R"(g8requesHvfgHijkzV75g8requet6g8r\"crv\":\"P-512\",\"x\":\"f83OJ3D2xF18Bgvub9tLe1gHMlea)"
      R"(dsrit6g8requesHvRU\",\"y\uDdefgHizV76g8requesHvRVEU\",\"y\uEdefgHleadsrit6g8reHvRVEU\")"
      R"(,\"y\uEdefgHijkzV75g8requet6g8requesHvREUV\",\"y\uEdefgHijkzV75g8reqVEU\",\"y\uEdefgHi)"
      R"(jkzV75g8requesHvRVEU\",\"y\uEdefgHizV76g8requesHvRVEU\",\"y\uEdefgHleadsrit6g8requesHv)"
      R"(RVEU\",\"y\uEdefgHijkzV75g8requet6g8requesHvREUV\",\"y\uEdefgHijkzV75g8requesHvRVEU\",)"
      R"(\"y\uEdefgHizV76g8requesHvRVEU\",\"y\uEdefgHleadsrit6VEU\",\"y\uEdefgHiCodeRedeemedzV7)"
      R"(6g8,\"y\uEdefgHirequesHvRVb9tLe1gHMleadsrit6g8requesHvRVEU\",\"y\uEdefgHijkzV50g8reque)"
      R"(sHvRVEU\",\"y\uEdefgHizV76g8requesHvRVEU\",\"y\uEdefgHleadsrit6g8requesHvRVEU\",\"y\uE)"
      R"(defgHijkzV37g8requet6g8requesHvREU6256\"}","created_at":"2027-01-15T08:00:00.000000Z",)"
      R"("activate_after":"2027-01-16T08:00:00.000000Z"})";
  EXPECT_FALSE(decode_signing_key_event("SigningKeyCreated", payload));
  EXPECT_TRUE(decode_signing_key_event(
      "SigningKeyActivated", R"({"kid":"sig_\ud83d\ude00","at":"2027-01-16T08:00:00Z"})"));
  EXPECT_FALSE(decode_signing_key_event("SigningKeyActivated",
                                        R"({"kid":"sig_\ude00","at":"2027-01-16T08:00:00Z"})"));
}

}  // namespace
}  // namespace keyledger::infra

// ES256 compact JWS and P-256 JWKs: round trips, the RFC 7515 appendix A.3 vector, and every
// refusal the attack tests will lean on (alg none, HS256 keyed with the public key, RS256,
// a missing or unknown kid, a wrong typ, crit, padding, extra parts, oversize, tampering).

#include "infra/crypto/jws.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/encoding.hpp"
#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {
namespace {

using domain::base64url_decode;
using domain::base64url_encode;

constexpr std::string_view payload = R"({"sub":"usr_1","exp":1900000000})";

// RFC 7515 appendix A.3: the ES256 example, with the public half of its JWK (kid, use and alg
// added: this project's JWKs always carry them).
constexpr std::string_view rfc7515_a3_token =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    "cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr std::string_view rfc7515_a3_jwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"rfc7515-a3","use":"sig",)"
    R"("alg":"ES256"})";
constexpr std::string_view rfc7515_a3_payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(domain::hex_value(hex[i]) << 4 | domain::hex_value(hex[i + 1]));
  }
  return out;
}

class jws_test : public ::testing::Test {
 protected:
  /// Finds `public_` under "sig_1" only, and counts the look-ups.
  es256_key_lookup lookup() {
    return [this](std::string_view kid) -> std::optional<es256_public_key> {
      ++lookups_;
      if (kid == "sig_1") return public_;
      return std::nullopt;
    };
  }

  domain::result<std::string, jws_refusal> verify(std::string_view token,
                                                  std::string_view typ = access_token_typ) {
    return verify_compact(token, lookup(), typ);
  }

  /// A token with this exact header JSON, signed by key_ (so only the header's content decides).
  std::string with_header(std::string_view header_json, std::string_view body = payload) {
    std::string input = base64url_encode(header_json) + "." + base64url_encode(body);
    return input + "." + base64url_encode(key_.sign(input));
  }

  es256_key key_ = es256_key::generate();
  es256_public_key public_ = key_.public_key();
  std::atomic<int> lookups_{0};
};

// ---- signing and verifying ------------------------------------------------------------------

TEST_F(jws_test, a_signed_token_verifies_and_gives_back_its_payload) {
  const auto token = sign_compact(key_, "sig_1", access_token_typ, payload);
  const auto result = verify(token);
  ASSERT_TRUE(result.ok()) << to_string(result.error());
  EXPECT_EQ(result.value(), payload);
}

TEST_F(jws_test, the_header_has_a_fixed_member_order_and_the_signature_is_64_bytes) {
  const auto token = sign_compact(key_, "sig_1", access_token_typ, payload);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  EXPECT_EQ(base64url_decode(token.substr(0, first)),
            std::optional<std::string>(R"({"alg":"ES256","typ":"at+jwt","kid":"sig_1"})"));
  EXPECT_EQ(base64url_decode(token.substr(first + 1, second - first - 1)),
            std::optional<std::string>(payload));
  const auto signature = base64url_decode(token.substr(second + 1));
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_TRUE(public_.verify(token.substr(0, second), *signature));
}

TEST_F(jws_test, the_rfc7515_appendix_a3_example_verifies_with_its_published_key) {
  const auto jwk = parse_es256_jwk(rfc7515_a3_jwk);
  ASSERT_TRUE(jwk);
  const auto result = verify_compact_with_key(rfc7515_a3_token, jwk->key);
  ASSERT_TRUE(result.ok()) << to_string(result.error());
  EXPECT_EQ(result.value(), rfc7515_a3_payload);
  // Its header names neither a kid nor a typ: the access-token verifier refuses it.
  const auto strict = verify_compact(
      rfc7515_a3_token, [&](std::string_view) { return std::optional(jwk->key); },
      access_token_typ);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error(), jws_refusal::missing_kid);
  // And another key does not verify it.
  EXPECT_EQ(verify_compact_with_key(rfc7515_a3_token, public_).error(), jws_refusal::bad_signature);
}

TEST_F(jws_test, signatures_are_randomised_yet_each_verifies) {
  const auto a = sign_compact(key_, "sig_1", access_token_typ, payload);
  const auto b = sign_compact(key_, "sig_1", access_token_typ, payload);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify(a).ok());
  EXPECT_TRUE(verify(b).ok());
}

// OpenSSL's DER signature is turned into r || s by hand: an r or s with leading zero bytes
// (shorter INTEGERs, one signature in ~128) and one with its top bit set (a 33-byte INTEGER, one
// in two) must both land right-aligned in their 32 bytes. Thousands of signatures meet both.
TEST_F(jws_test, every_signature_verifies_whatever_the_length_of_its_der_integers) {
  constexpr int signatures = 3000;
  int short_coordinates = 0;
  for (int i = 0; i < signatures; ++i) {
    const std::string input = "input-" + std::to_string(i);
    const auto signature = key_.sign(input);
    ASSERT_EQ(signature.size(), 64u);
    ASSERT_TRUE(public_.verify(input, signature)) << "signature " << i;
    short_coordinates += (signature[0] == '\0') + (signature[32] == '\0');
  }
  // About 23 expected; none would mean the case was never met.
  EXPECT_GT(short_coordinates, 0);
}

TEST_F(jws_test, typ_matches_case_insensitively_and_with_the_application_prefix) {
  for (const char* typ : {"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+jwt"}) {
    EXPECT_TRUE(verify(sign_compact(key_, "sig_1", typ, payload)).ok()) << typ;
  }
  for (const char* typ : {"JWT", "jwt", "at+jwt ", "text/at+jwt", "application/jwt", ""}) {
    const auto r = verify(sign_compact(key_, "sig_1", typ, payload));
    ASSERT_FALSE(r.ok()) << typ;
    EXPECT_EQ(r.error(), jws_refusal::wrong_typ) << typ;
  }
  const auto untyped = verify(with_header(R"({"alg":"ES256","kid":"sig_1"})"));
  ASSERT_FALSE(untyped.ok());
  EXPECT_EQ(untyped.error(), jws_refusal::wrong_typ);
}

// ---- refusals -------------------------------------------------------------------------------

TEST_F(jws_test, alg_none_is_refused_before_any_key_is_looked_up) {
  const std::string header = R"({"alg":"none","typ":"at+jwt","kid":"sig_1"})";
  const std::string unsigned_token = base64url_encode(header) + "." + base64url_encode(payload);
  for (const auto& token : {unsigned_token + ".", unsigned_token + ".c2ln", with_header(header)}) {
    const auto r = verify(token);
    ASSERT_FALSE(r.ok()) << token;
    EXPECT_EQ(r.error(), jws_refusal::unsupported_alg) << token;
  }
  for (const char* alg : {R"("None")", R"("NONE")", R"("")"}) {
    const auto r = verify(with_header(std::string(R"({"alg":)") + alg + R"(,"kid":"sig_1"})"));
    ASSERT_FALSE(r.ok()) << alg;
    EXPECT_EQ(r.error(), jws_refusal::unsupported_alg) << alg;
  }
  EXPECT_EQ(lookups_.load(), 0);
}

TEST_F(jws_test, hs256_keyed_with_the_public_jwk_is_refused) {
  // The classic confusion: an HMAC whose key is the published public key.
  const std::string jwk = public_.to_jwk("sig_1");
  const std::string input =
      base64url_encode(std::string_view(R"({"alg":"HS256","typ":"at+jwt","kid":"sig_1"})")) + "." +
      base64url_encode(payload);
  hmac_key_hasher hmac{secret(jwk)};
  const auto mac = hmac.hash(input);
  const auto token = input + "." + base64url_encode(std::span<const std::uint8_t>(mac));
  const auto r = verify(token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), jws_refusal::unsupported_alg);
  EXPECT_EQ(lookups_.load(), 0);
}

TEST_F(jws_test, every_other_algorithm_is_refused_even_with_a_valid_es256_signature) {
  for (const char* alg :
       {"RS256", "PS256", "ES384", "ES512", "EdDSA", "es256", "ES256 ", "HS512"}) {
    const auto r = verify(
        with_header(std::string(R"({"alg":")") + alg + R"(","typ":"at+jwt","kid":"sig_1"})"));
    ASSERT_FALSE(r.ok()) << alg;
    EXPECT_EQ(r.error(), jws_refusal::unsupported_alg) << alg;
  }
  const auto absent = verify(with_header(R"({"typ":"at+jwt","kid":"sig_1"})"));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error(), jws_refusal::unsupported_alg);
  EXPECT_EQ(lookups_.load(), 0);
}

TEST_F(jws_test, a_missing_or_unknown_kid_is_refused) {
  const auto missing = verify(with_header(R"({"alg":"ES256","typ":"at+jwt"})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), jws_refusal::missing_kid);
  const auto unknown = verify(sign_compact(key_, "sig_2", access_token_typ, payload));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), jws_refusal::unknown_kid);
}

TEST_F(jws_test, a_known_kid_with_another_keys_signature_is_refused) {
  const auto other = es256_key::generate();
  const auto r = verify(sign_compact(other, "sig_1", access_token_typ, payload));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), jws_refusal::bad_signature);
}

TEST_F(jws_test, a_crit_member_is_refused) {
  for (const char* crit : {R"(["exp"])", R"([])", R"("b64")", "null"}) {
    const auto r =
        verify(with_header(std::string(R"({"alg":"ES256","typ":"at+jwt","kid":"sig_1",)") +
                           R"("crit":)" + crit + "}"));
    ASSERT_FALSE(r.ok()) << crit;
    EXPECT_EQ(r.error(), jws_refusal::critical_header) << crit;
  }
}

TEST_F(jws_test, unknown_header_members_are_ignored) {
  EXPECT_TRUE(
      verify(with_header(R"({"alg":"ES256","typ":"at+jwt","kid":"sig_1","x5u":"https://e.x"})"))
          .ok());
}

TEST_F(jws_test, a_header_that_is_not_one_json_object_of_strings_is_refused) {
  for (const char* header :
       {R"(["ES256"])", R"({"alg":"ES256","kid":"sig_1")", "null",
        R"({"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"sig_1"})",
        R"({"alg":256,"typ":"at+jwt","kid":"sig_1"})", R"({"alg":"ES256","typ":"at+jwt","kid":1})",
        R"({"alg":"ES256","typ":["at+jwt"],"kid":"sig_1"})",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"sig_\xff\"}"}) {
    const auto r = verify(with_header(header));
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.error(), jws_refusal::bad_header) << header;
  }
}

TEST_F(jws_test, a_tampered_header_payload_or_signature_is_refused) {
  const auto token = sign_compact(key_, "sig_1", access_token_typ, payload);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const auto signature = token.substr(second + 1);

  // Another header (still valid, same kid) under the old signature.
  const auto header =
      base64url_encode(std::string_view(R"({"alg":"ES256","typ":"at+jwt","kid":"sig_1","n":1})"));
  EXPECT_EQ(verify(header + token.substr(first)).error(), jws_refusal::bad_signature);
  // Another payload.
  const auto other = base64url_encode(std::string_view(R"({"sub":"usr_2","exp":1900000000})"));
  EXPECT_EQ(verify(token.substr(0, first + 1) + other + token.substr(second)).error(),
            jws_refusal::bad_signature);
  // One bit of the signature.
  auto raw = *base64url_decode(signature);
  raw[10] = static_cast<char>(raw[10] ^ 0x01);
  EXPECT_EQ(verify(token.substr(0, second + 1) + base64url_encode(raw)).error(),
            jws_refusal::bad_signature);
  // r and s swapped.
  const auto swapped = raw.substr(32) + raw.substr(0, 32);
  EXPECT_EQ(verify(token.substr(0, second + 1) + base64url_encode(swapped)).error(),
            jws_refusal::bad_signature);
}

TEST_F(jws_test, a_signature_of_another_length_or_in_der_is_refused) {
  const auto token = sign_compact(key_, "sig_1", access_token_typ, payload);
  const auto input = token.substr(0, token.rfind('.'));
  const auto raw = *base64url_decode(token.substr(token.rfind('.') + 1));
  for (const auto& sig :
       {raw.substr(0, 63), raw + std::string(1, '\0'), std::string(64, '\0'), std::string()}) {
    const auto r = verify(input + "." + base64url_encode(sig));
    ASSERT_FALSE(r.ok()) << sig.size();
    EXPECT_EQ(r.error(), jws_refusal::bad_signature) << sig.size();
  }
}

TEST_F(jws_test, padding_whitespace_and_the_wrong_number_of_parts_are_malformed) {
  const auto token = sign_compact(key_, "sig_1", access_token_typ, payload);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  std::vector<std::string> bad = {
      token + ".",
      token + ".AAAA",
      token.substr(0, second),
      token.substr(0, first),
      "",
      "..",
      "." + token.substr(first + 1),
      token.substr(0, first + 1) + token.substr(second),  // empty payload
      token + "=",
      token + "==",
      token.substr(0, first) + "=" + token.substr(first),
      " " + token,
      token + "\n",
      token.substr(0, first + 1) + " " + token.substr(first + 1),
      token.substr(0, second + 1) + "+/" + token.substr(second + 3),  // base64, not base64url
  };
  for (const auto& t : bad) {
    const auto r = verify(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.error(), jws_refusal::malformed) << t;
  }
}

TEST_F(jws_test, an_oversized_token_is_refused_before_it_is_read) {
  // base64url makes 4 characters of 3 bytes.
  const std::string big(5800, 'a');
  const auto fits = sign_compact(key_, "sig_1", access_token_typ, R"({"pad":")" + big + R"("})");
  ASSERT_LE(fits.size(), max_compact_jws_bytes);
  EXPECT_TRUE(verify(fits).ok());
  const std::string bigger(6200, 'a');
  const auto too_big =
      sign_compact(key_, "sig_1", access_token_typ, R"({"pad":")" + bigger + R"("})");
  EXPECT_EQ(verify(too_big).error(), jws_refusal::too_large);
  EXPECT_EQ(verify(std::string(max_compact_jws_bytes + 1, '.')).error(), jws_refusal::too_large);
  EXPECT_EQ(lookups_.load(), 1);
}

// ---- keys -----------------------------------------------------------------------------------

TEST_F(jws_test, a_jwk_is_written_with_exactly_its_members_in_order_and_read_back) {
  const auto jwk = public_.to_jwk("sig_1");
  const auto x_at = jwk.find(R"("x":")");
  const auto y_at = jwk.find(R"(","y":")");
  ASSERT_NE(x_at, std::string::npos);
  ASSERT_NE(y_at, std::string::npos);
  const auto x = jwk.substr(x_at + 5, y_at - x_at - 5);
  const auto y_end = jwk.find('"', y_at + 7);
  const auto y = jwk.substr(y_at + 7, y_end - y_at - 7);
  EXPECT_EQ(jwk, R"({"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y +
                     R"(","kid":"sig_1","use":"sig","alg":"ES256"})");
  EXPECT_EQ(x.size(), 43u);  // 32 bytes, unpadded
  EXPECT_EQ(y.size(), 43u);

  const auto parsed = parse_es256_jwk(jwk);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kid, "sig_1");
  EXPECT_TRUE(parsed->key == public_);
  EXPECT_FALSE(parsed->key == es256_key::generate().public_key());
  EXPECT_EQ(parsed->key.to_jwk("sig_1"), jwk);
  // Members in another order are the same key.
  const auto reordered = R"({"alg":"ES256","use":"sig","kid":"sig_1","y":")" + y + R"(","x":")" +
                         x + R"(","crv":"P-256","kty":"EC"})";
  ASSERT_TRUE(parse_es256_jwk(reordered));
  EXPECT_TRUE(parse_es256_jwk(reordered)->key == public_);
}

TEST_F(jws_test, a_jwk_of_any_other_shape_is_refused) {
  const auto jwk = public_.to_jwk("sig_1");
  const auto replace = [&](std::string_view from, std::string_view to) {
    auto out = jwk;
    const auto at = out.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    out.replace(at, from.size(), to);
    return out;
  };
  const auto x_at = jwk.find(R"("x":")") + 5;
  auto off_curve = jwk;
  off_curve[x_at + 3] = off_curve[x_at + 3] == 'A' ? 'B' : 'A';
  std::vector<std::string> bad = {
      replace(R"("alg":"ES256"})",
              R"("alg":"ES256","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})"),
      replace(R"("kty":"EC")", R"("kty":"RSA")"),
      replace(R"("crv":"P-256")", R"("crv":"P-384")"),
      replace(R"("use":"sig")", R"("use":"enc")"),
      replace(R"("alg":"ES256")", R"("alg":"HS256")"),
      replace(R"(,"kid":"sig_1")", ""),
      replace(R"("kid":"sig_1")", R"("kid":"")"),
      replace(R"(,"use":"sig")", ""),
      replace(R"("kid":"sig_1")", R"("kid":"sig_1","kid":"sig_2")"),
      replace(R"("kid":"sig_1")", R"("kid":1)"),
      replace(R"("x":")", R"("x":"AAAA)"),   // not 32 bytes
      replace(R"(","y":")", R"(=","y":")"),  // padding
      off_curve,
      "{}",
      "[]",
      "",
      jwk + " {}",
  };
  for (const auto& text : bad) EXPECT_FALSE(parse_es256_jwk(text)) << text;
}

TEST_F(jws_test, the_private_key_goes_through_pkcs8_der_and_still_signs_for_its_public_key) {
  const auto der = key_.to_pkcs8_der();
  ASSERT_GT(der.size(), 100u);
  EXPECT_EQ(static_cast<unsigned char>(der.reveal()[0]), 0x30);  // a DER SEQUENCE
  const auto back = es256_key::from_pkcs8_der(der);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->public_key() == public_);
  EXPECT_TRUE(verify(sign_compact(*back, "sig_1", access_token_typ, payload)).ok());
  EXPECT_EQ(back->to_pkcs8_der().reveal(), der.reveal());
  // Fresh keys are fresh.
  EXPECT_NE(es256_key::generate().to_pkcs8_der().reveal(), der.reveal());
}

TEST_F(jws_test, a_private_key_that_is_not_p256_or_not_exactly_pkcs8_is_refused) {
  const std::vector<std::string> not_p256 = {
      // P-384, PKCS#8
      from_hex("3081b6020100301006072a8648ce3d020106052b8104002204819e30819b020101043014a5bc89db"
               "54cd179e2272708959d4f0df9be1fee7363c77fb1404918b3631d857fd592a5191c166e80cd04898"
               "621113a164036200049cde96122bc84641d6dfe566bae3c408c40965a5c45be44cf30ba32e70cd04"
               "3a180a567681a35176151479f2966fd6babd9e745009bcd9d138a70070764c5bc2ca5beb228184cc"
               "ffb540fb10c274c948ddc882cd7825da01116bd3926098b151"),
      // secp256k1 (a 256-bit curve, but not P-256), PKCS#8
      from_hex("308184020100301006072a8648ce3d020106052b8104000a046d306b02010104206ebfda47049eeb"
               "4b770eff3e52b8e9d0ab6f2181195cbdcccfb41d76d83a687da14403420004e4f92822378ed1d7c0"
               "339be0273258d96e23f9e9901df041e4c6e3e2ee73daf601a4f465fcedc64f964bfd7031df0070ea"
               "8e825b0ffcebfc48b217db35db67e8"),
      // Ed25519, PKCS#8
      from_hex("302e020100300506032b6570042204203b86dc1d548080c8d41d85876b79f7b2b62736c2dea61797"
               "50a99f8fcb357e64"),
  };
  for (const auto& der : not_p256) {
    EXPECT_FALSE(es256_key::from_pkcs8_der(secret(der))) << der.size();
  }
  const auto good = std::string(key_.to_pkcs8_der().reveal());
  for (const auto& der : {good + std::string(1, '\0'), good.substr(0, good.size() - 1),
                          good.substr(0, 20), std::string(), std::string(64, 'x')}) {
    EXPECT_FALSE(es256_key::from_pkcs8_der(secret(der))) << der.size();
  }
  // A public key is no private key.
  EXPECT_FALSE(es256_key::from_pkcs8_der(secret(public_.to_jwk("sig_1"))));
}

TEST(jws_refusal_names, every_refusal_has_a_name) {
  for (const auto r :
       {jws_refusal::too_large, jws_refusal::malformed, jws_refusal::bad_header,
        jws_refusal::unsupported_alg, jws_refusal::critical_header, jws_refusal::missing_kid,
        jws_refusal::unknown_kid, jws_refusal::wrong_typ, jws_refusal::bad_signature}) {
    EXPECT_NE(to_string(r), "unknown");
  }
  EXPECT_EQ(to_string(jws_refusal::unsupported_alg), "unsupported_alg");
}

}  // namespace
}  // namespace keyledger::infra

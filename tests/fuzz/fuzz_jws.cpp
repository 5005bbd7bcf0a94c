// infra/crypto/jws: the compact JWS verifier and the JWK reader. Three inputs from one:
//   - all of it as a token, verified under a fixed public key (kid "fuzz-key-1", the JWK
//     below; the seeds in corpus/jws were signed with its private half, which was discarded):
//     a token that verifies has the header of an access token (alg ES256, no crit, typ at+jwt);
//   - "<header>\n<payload>" signed here with a key made at start-up, so that the fuzzer reaches
//     past the signature into the header rules: what verifies has alg ES256 and gives back the
//     payload that was signed;
//   - all of it as a JWK: a key parse_es256_jwk accepts re-renders (to_jwk) to a JWK that
//     parses to the same key and kid.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/encoding.hpp"
#include "infra/crypto/jws.hpp"
#include "infra/json/json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace keyledger;

constexpr std::string_view fixed_jwk =
    R"({"kty":"EC","crv":"P-256","x":"lQDD5iHmJdAMjhPxBmCsaS-b99vUj43jAVD7KWdn4ek",)"
    R"("y":"0LL4CfxKGyenwaRpL7KzUbGZNroLEgMKV1DnCwV53eM","kid":"fuzz-key-1","use":"sig",)"
    R"("alg":"ES256"})";

struct keys {
  infra::parsed_jwk fixed = *infra::parse_es256_jwk(fixed_jwk);
  infra::es256_key signer = infra::es256_key::generate();
  infra::es256_public_key signer_public = signer.public_key();
};

const keys& the_keys() {
  static const keys k;
  return k;
}

/// The header of a token that verified: one JSON object whose alg is ES256 and without crit.
void check_header(std::string_view token) {
  const auto dot = token.find('.');
  FUZZ_CHECK(dot != std::string_view::npos);
  const auto header = domain::base64url_decode(token.substr(0, dot));
  FUZZ_CHECK(header.has_value());
  auto json = infra::json_body::parse(*header);
  FUZZ_CHECK(json.ok());
  const auto alg = json.value().get_string("alg");
  FUZZ_CHECK(alg.ok() && alg.value() == std::optional<std::string>("ES256"));
  // Absent: neither getter finds it (a present member of any type makes one of them answer).
  const auto crit = json.value().get_string("crit");
  const auto crit_list = json.value().get_string_array("crit");
  FUZZ_CHECK(crit.ok() && !crit.value() && crit_list.ok() && !crit_list.value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  const auto& k = the_keys();

  // The whole input as a token under the fixed key.
  const infra::es256_key_lookup fixed_lookup =
      [&](std::string_view kid) -> std::optional<infra::es256_public_key> {
    if (kid == k.fixed.kid) return k.fixed.key;
    return std::nullopt;
  };
  if (auto payload = infra::verify_compact(text, fixed_lookup, infra::access_token_typ)) {
    check_header(text);
  }
  (void)infra::verify_compact_with_key(text, k.fixed.key);

  // "<header>\n<payload>", signed here.
  const auto [header, payload] = fuzz::split_line(text);
  std::string token = domain::base64url_encode(header) + "." + domain::base64url_encode(payload);
  token += "." + domain::base64url_encode(k.signer.sign(token));
  const infra::es256_key_lookup any_kid =
      [&](std::string_view) -> std::optional<infra::es256_public_key> { return k.signer_public; };
  if (auto verified = infra::verify_compact(token, any_kid, infra::access_token_typ)) {
    FUZZ_CHECK(verified.value() == payload);
    check_header(token);
  }
  if (auto verified = infra::verify_compact_with_key(token, k.signer_public)) {
    FUZZ_CHECK(verified.value() == payload);
    check_header(token);
  }

  // The whole input as a JWK.
  if (const auto jwk = infra::parse_es256_jwk(text)) {
    const auto again = infra::parse_es256_jwk(jwk->key.to_jwk(jwk->kid));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->kid == jwk->kid && again->key == jwk->key);
  }
  return 0;
}

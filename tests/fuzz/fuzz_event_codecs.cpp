// Every payload decoder of infra/json over "<type>\n<payload>": the event codecs (keys,
// workspaces, users, members, OAuth clients, grants, access tokens, signing keys, webhook
// endpoints), the metadata, and the JWT claims set (type "claims"). A payload that decodes
// re-encodes to bytes that decode again and re-encode to the same bytes: a stored event is read
// back as what was written (the log hash-chains the exact bytes).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "infra/json/event_codec.hpp"
#include "infra/json/grant_codec.hpp"
#include "infra/json/oauth_codec.hpp"
#include "infra/json/signing_key_codec.hpp"
#include "infra/json/token_codec.hpp"
#include "infra/json/user_codec.hpp"
#include "infra/json/webhook_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace keyledger;

/// decode, encode, decode, encode: the two encodings are equal.
template <typename Decode, typename Encode>
void round_trip(std::string_view type, std::string_view payload, Decode decode, Encode encode) {
  const auto first = decode(type, payload);
  if (!first) return;
  const std::string once = encode(*first);
  const auto second = decode(type, once);
  FUZZ_CHECK(second.has_value());
  FUZZ_CHECK(encode(*second) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [type, payload] = fuzz::split_line(fuzz::as_text(data, size));
  const auto enc = [](const auto& e) { return infra::encode_payload(e); };

  round_trip(type, payload, infra::decode_api_key_event, enc);
  round_trip(type, payload, infra::decode_workspace_event, enc);
  round_trip(type, payload, infra::decode_user_event, enc);
  round_trip(type, payload, infra::decode_member_event, enc);
  round_trip(type, payload, infra::decode_client_event, enc);
  round_trip(type, payload, infra::decode_grant_event, enc);
  round_trip(type, payload, infra::decode_access_token_event, enc);
  round_trip(type, payload, infra::decode_signing_key_event, enc);
  round_trip(type, payload, infra::decode_endpoint_event, enc);

  if (type == "metadata") {
    if (const auto m = infra::decode_metadata(payload)) {
      const auto again = infra::decode_metadata(infra::encode_metadata(*m));
      FUZZ_CHECK(again.has_value());
      FUZZ_CHECK(infra::encode_metadata(*again) == infra::encode_metadata(*m));
    }
  }
  if (type == "claims") {
    if (const auto c = infra::decode_claims(payload)) {
      const std::string once = infra::encode_claims(*c);
      const auto again = infra::decode_claims(once);
      FUZZ_CHECK(again.has_value());
      FUZZ_CHECK(infra::encode_claims(*again) == once);
    }
  }
  return 0;
}

#pragma once

// A fake of the access_token_signer port for route and service tests: tokens have the JWS
// compact shape and carry the claims in the clear, "signed" with a fixed marker. Only this fake
// accepts its tokens; a token with another header or marker (alg none, HS256, a tampered one)
// is refused, as the real ring refuses it. The real ES256 signer is tested on its own
// (infra/crypto/jws) and end to end.

#include <optional>
#include <string>
#include <string_view>

#include "domain/encoding.hpp"
#include "services/app/oauth/token_signer.hpp"

namespace keyledger::test_support {

class fake_token_signer final : public services::access_token_signer {
 public:
  static constexpr std::string_view header = R"({"alg":"ES256","typ":"at+jwt","kid":"fake"})";
  static constexpr std::string_view marker = "fake-signature";

  std::string sign(std::string_view claims_json) const override {
    return domain::base64url_encode(header) + "." + domain::base64url_encode(claims_json) + "." +
           domain::base64url_encode(marker);
  }

  /// What signs_without_io() answers: a test sets it to say the active key is in memory.
  bool key_in_memory = false;
  bool signs_without_io() const override { return key_in_memory; }

  std::optional<std::string> verify(std::string_view token) const override {
    const auto first = token.find('.');
    const auto second = token.find('.', first == std::string_view::npos ? first : first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
    if (token.substr(0, first) != domain::base64url_encode(header)) return std::nullopt;
    if (token.substr(second + 1) != domain::base64url_encode(marker)) return std::nullopt;
    return domain::base64url_decode(token.substr(first + 1, second - first - 1));
  }
};

}  // namespace keyledger::test_support

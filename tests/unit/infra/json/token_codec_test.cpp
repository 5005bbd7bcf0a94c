// Access-token JSON: the JWT claims set (exact bytes, strict decoding) and AccessTokenRevoked.
#include "infra/json/token_codec.hpp"

#include <gtest/gtest.h>

namespace keyledger::infra {
namespace {

namespace oauth = domain::oauth;
using namespace std::chrono_literals;

oauth::access_token_claims claims() {
  oauth::access_token_claims c;
  c.issuer = "https://auth.example";
  c.subject = "usr_1";
  c.audience = "https://api.example";
  c.client_id = "cli_0123456789abcdefghijkl";
  c.scopes = {"leads:read", "leads:write"};
  c.workspace_id = "ws_1";
  c.session_id = "rtf_0123456789abcdefghijkl";
  c.jti = "atk_0123456789abcdefghijkl";
  c.issued_at = domain::timestamp(1'800'000'000s);
  c.expires_at = domain::timestamp(1'800'000'600s);
  return c;
}

TEST(token_codec, claims_encode_in_a_fixed_order_with_numeric_dates) {
  EXPECT_EQ(
      encode_claims(claims()),
      R"({"iss":"https://auth.example","sub":"usr_1","aud":"https://api.example","exp":1800000600,"nbf":1800000000,"iat":1800000000,"jti":"atk_0123456789abcdefghijkl","client_id":"cli_0123456789abcdefghijkl","scope":"leads:read leads:write","workspace_id":"ws_1","sid":"rtf_0123456789abcdefghijkl"})");
  auto machine = claims();
  machine.session_id.clear();
  EXPECT_EQ(encode_claims(machine).find("sid"), std::string::npos);
}

TEST(token_codec, claims_round_trip_and_fractions_of_a_second_are_dropped) {
  EXPECT_EQ(decode_claims(encode_claims(claims())), claims());
  auto c = claims();
  c.issued_at += 999ms;
  EXPECT_EQ(decode_claims(encode_claims(c))->issued_at, claims().issued_at);
  auto none = claims();
  none.scopes.clear();
  EXPECT_EQ(decode_claims(encode_claims(none))->scopes.size(), 0u);
}

TEST(token_codec, claims_that_are_not_exactly_ours_do_not_decode) {
  const std::string good = encode_claims(claims());
  const auto with = [&](std::string_view from, std::string_view to) {
    auto s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  for (const auto& bad : {
           with(R"("exp":1800000600)", R"("exp":1800000600.5)"),
           with(R"("exp":1800000600)", R"("exp":"1800000600")"),
           with(R"("nbf":1800000000)", R"("nbf":1700000000)"),
           with(R"("aud":"https://api.example")", R"("aud":["https://api.example"])"),
           with(R"("sub":"usr_1",)", ""),
           with(R"("sid":"rtf_0123456789abcdefghijkl")", R"("sid":"")"),
           with(R"("iss")", R"("admin":true,"iss")"),
           good + " {}",
           std::string("[]"),
       }) {
    EXPECT_FALSE(decode_claims(bad)) << bad;
  }
}

// A duplicate member: one parser would read the first, another the last; refused outright
// (RFC 7519 4, RFC 7515 5.2), whichever member is repeated and whatever the values.
TEST(token_codec, claims_with_a_duplicate_member_do_not_decode) {
  const std::string good = encode_claims(claims());
  const auto body = good.substr(0, good.size() - 1);  // without the closing brace
  for (const auto* extra : {R"(,"sub":"usr_admin")", R"(,"sub":"usr_1")", R"(,"scope":"admin")",
                            R"(,"exp":1900000000)", R"(,"iss":"https://auth.example")",
                            R"(,"sid":"rtf_0123456789abcdefghijkl")"}) {
    const std::string twice = body + extra + "}";
    EXPECT_FALSE(decode_claims(twice)) << twice;
  }
  EXPECT_TRUE(decode_claims(good));
}

// Found by tests/fuzz event_codecs (corpus/event_codecs/regression_claims_exp_overflow): a huge
// "exp" overflowed when made microseconds (UB). NumericDates beyond 9999 or before 1970 do not
// decode.
TEST(token_codec, claims_with_an_out_of_range_numeric_date_do_not_decode) {
  const std::string payload =
      R"({"iss":"https://auth.exampple","exp":1800000600800000000,"jti":"a23456789abcdefghijkl")"
      R"(,"scope":"leads:r","workspace_id":"ws_1","sid":"rtf_0061728394le","sub":"usr_1","aud":)"
      R"("https://api.example","exp":1800000600,"nbf":1800000000,"iat":1800000000,"jti":"atk_01)"
      R"(23456789abcdefghijkl","client_id":"cli_01234567890061728394abcdefghijkl"})";
  EXPECT_FALSE(decode_claims(payload));
  auto text = encode_claims(claims());
  const auto at = text.find("\"exp\":");
  ASSERT_NE(at, std::string::npos);
  EXPECT_FALSE(
      decode_claims(text.substr(0, at) + R"("exp":-1,)" + text.substr(text.find(',', at) + 1)));
  EXPECT_TRUE(decode_claims(text.substr(0, at) + R"("exp":253402300799,)" +
                            text.substr(text.find(',', at) + 1)));
}

TEST(token_codec, revocations_round_trip) {
  oauth::access_token_revoked r{"atk_0123456789abcdefghijkl", "cli_0123456789abcdefghijkl", "ws_1",
                                domain::timestamp(1'800'000'600s),
                                domain::timestamp(1'800'000'100s)};
  const auto text = encode_payload(oauth::access_token_event{r});
  EXPECT_EQ(
      text,
      R"({"jti":"atk_0123456789abcdefghijkl","client_id":"cli_0123456789abcdefghijkl","workspace_id":"ws_1","expires_at":"2027-01-15T08:10:00.000000Z","at":"2027-01-15T08:01:40.000000Z"})");
  auto back = decode_access_token_event("AccessTokenRevoked", text);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<oauth::access_token_revoked>(*back), r);
  EXPECT_FALSE(decode_access_token_event("AccessTokenRevoked", R"({"jti":"x"})"));
  EXPECT_FALSE(decode_access_token_event("KeyRevoked", text));
}

TEST(access_token, a_revocation_is_decided_once_and_not_for_an_expired_token) {
  const auto now = domain::timestamp(1'800'000'100s);
  oauth::revoke_access_token cmd{"atk_0123456789abcdefghijkl", "cli_x", "ws_1", now + 500s, now};
  auto first = oauth::decide(oauth::access_token_state{}, cmd);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  const auto state = oauth::evolve({}, first->front());
  EXPECT_TRUE(oauth::decide(state, cmd)->empty());
  cmd.expires_at = now;
  EXPECT_TRUE(oauth::decide(oauth::access_token_state{}, cmd)->empty());
  cmd.jti = "atk_short";
  EXPECT_FALSE(oauth::decide(oauth::access_token_state{}, cmd).ok());
}

TEST(access_token, claims_are_checked_for_issuer_time_and_expiry) {
  const auto c = claims();
  EXPECT_FALSE(oauth::check_claims(c, "https://auth.example", c.issued_at));
  EXPECT_EQ(oauth::check_claims(c, "https://other.example", c.issued_at),
            oauth::token_refusal::wrong_issuer);
  EXPECT_EQ(oauth::check_claims(c, "https://auth.example", c.issued_at - 1s),
            oauth::token_refusal::not_yet_valid);
  EXPECT_EQ(oauth::check_claims(c, "https://auth.example", c.expires_at),
            oauth::token_refusal::expired);
}

}  // namespace
}  // namespace keyledger::infra

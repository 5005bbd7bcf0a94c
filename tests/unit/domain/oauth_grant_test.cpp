// OAuth grants, first half: consent, issuing codes and redeeming them (RFC 6749 4.1.2/4.1.3,
// RFC 7636 4.6), given/when/then with an injected instant. Refresh rotation, revocation and the
// pruning of codes: oauth_grant_refresh_test.cpp.
#include <gtest/gtest.h>

#include "tests/unit/domain/oauth_grant_fixture.hpp"

namespace keyledger::domain::oauth {
namespace {

using namespace grant_testing;
using scopes = std::vector<std::string>;

// ---- consent ----------------------------------------------------------------------------------

TEST(oauth_grant_consent, given_no_grant_when_consenting_then_created_with_sorted_distinct_scopes) {
  const auto e = the_one<grant_created>(
      grant_state{}, consent_to({"leads:write", "leads:read", "leads:write"}, t0()));
  EXPECT_EQ(e, created({"leads:read", "leads:write"}));
  const auto s = given({e});
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.version, 1u);
  EXPECT_EQ(s.grant_id, grant_id);
  EXPECT_EQ(s.user_id, user_id);
  EXPECT_EQ(s.scopes, (scopes{"leads:read", "leads:write"}));
  EXPECT_EQ(s.created_at, t0());
}

TEST(oauth_grant_consent, given_a_grant_when_consenting_to_more_then_extended_to_the_union) {
  const auto s = given({created({"leads:read"})});
  const auto e =
      the_one<grant_extended>(s, consent_to({"proposals:read", "leads:read"}, t0() + 1h));
  EXPECT_EQ(e, (grant_extended{grant_id, {"leads:read", "proposals:read"}, t0() + 1h}));
  EXPECT_EQ(given({created({"leads:read"}), e}).scopes, (scopes{"leads:read", "proposals:read"}));
}

TEST(oauth_grant_consent, given_a_grant_when_consenting_to_no_wider_scopes_then_nothing) {
  const auto s = given({created({"leads:read", "leads:write"})});
  EXPECT_TRUE(when(s, consent_to({"leads:write"})).empty());
  EXPECT_TRUE(when(s, consent_to({"leads:read", "leads:write", "leads:read"})).empty());
}

TEST(oauth_grant_consent, given_a_revoked_grant_when_consenting_then_grant_revoked) {
  const auto s = given({created(), grant_revoked{grant_id, user_id, t0() + 1s}});
  EXPECT_EQ(refusal(s, consent_to({"leads:read"})), grant_rejection::grant_revoked);
}

TEST(oauth_grant_consent, given_a_grant_when_another_client_user_workspace_or_id_then_refused) {
  const auto s = given({created()});
  auto c = consent_to({"leads:read", "calendar:read"});
  c.client_id = other_client_id;
  EXPECT_EQ(refusal(s, c), grant_rejection::invalid_command);
  c = consent_to({"calendar:read"});
  c.user_id = "usr_ZYXWVUTSRQPONMLKJIHGFE";
  EXPECT_EQ(refusal(s, c), grant_rejection::invalid_command);
  c = consent_to({"calendar:read"});
  c.workspace_id = "ws_ZYXWVUTSRQPONMLKJIHGFE";
  EXPECT_EQ(refusal(s, c), grant_rejection::invalid_command);
  c = consent_to({"calendar:read"});
  c.grant_id = "grt_ZYXWVUTSRQPONMLKJIHGFE";
  EXPECT_EQ(refusal(s, c), grant_rejection::invalid_command);
}

TEST(oauth_grant_consent, given_no_grant_when_ids_or_scopes_are_malformed_then_invalid_command) {
  const auto bad = [](auto change) {
    auto c = consent_to({"leads:read"});
    change(c);
    return refusal(grant_state{}, c);
  };
  EXPECT_EQ(bad([](consent& c) { c.grant_id = "rtf_0123456789abcdefghijkl"; }),
            grant_rejection::invalid_command);
  EXPECT_EQ(bad([](consent& c) { c.client_id = "cli_1"; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](consent& c) { c.user_id = ""; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](consent& c) { c.workspace_id = "ws_1"; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](consent& c) { c.scopes = {}; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](consent& c) { c.scopes = {"Leads:Read"}; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](consent& c) { c.scopes = {"leads"}; }), grant_rejection::invalid_command);
  scopes many;
  for (int i = 0; i <= static_cast<int>(max_grant_scopes); ++i) {
    many.push_back("r" + std::to_string(i) + ":read");
  }
  EXPECT_EQ(bad([&](consent& c) { c.scopes = many; }), grant_rejection::invalid_command);
  many.pop_back();  // exactly max_grant_scopes
  EXPECT_FALSE(bad([&](consent& c) { c.scopes = many; }));
  // The union of an extension counts too.
  const auto s = given({created({"leads:read"})});
  EXPECT_EQ(refusal(s, consent_to(many)), grant_rejection::invalid_command);
}

// ---- issuing a code ---------------------------------------------------------------------------

TEST(oauth_grant_code, given_a_grant_when_issuing_within_its_scopes_then_a_code_for_60_seconds) {
  const auto s = given({created()});
  const auto e = the_one<code_issued>(s, issue({"leads:write", "leads:read", "leads:read"}));
  EXPECT_EQ(e, issued());
  EXPECT_EQ(e.expires_at - e.issued_at, 60s);
  const auto after_issue = given({created(), e});
  ASSERT_NE(after_issue.find_code(code_hash), nullptr);
  EXPECT_EQ(after_issue.find_code(code_hash)->redirect_uri, redirect_uri);
  EXPECT_EQ(after_issue.find_code(code_hash)->redeemed_family, "");
  EXPECT_EQ(after_issue.find_code(hash('d')), nullptr);
}

TEST(oauth_grant_code, given_a_grant_when_issuing_outside_its_scopes_then_scope_widened) {
  const auto s = given({created({"leads:read"})});
  EXPECT_EQ(refusal(s, issue({"leads:read", "leads:write"})), grant_rejection::scope_widened);
  EXPECT_EQ(refusal(s, issue({"LEADS:READ"})), grant_rejection::scope_widened);
}

TEST(oauth_grant_code, given_a_grant_when_the_code_is_malformed_then_invalid_command) {
  const auto s = given({created()});
  const auto bad = [&](auto change) {
    auto c = issue();
    change(c);
    return refusal(s, c);
  };
  EXPECT_FALSE(bad([](issue_code&) {}));
  EXPECT_EQ(bad([](issue_code& c) { c.scopes = {}; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](issue_code& c) { c.redirect_uri = ""; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](issue_code& c) { c.code_hash = "code"; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](issue_code& c) { c.code_challenge = challenge.substr(1); }),
            grant_rejection::invalid_command);  // 42 characters
  EXPECT_EQ(bad([](issue_code& c) { c.code_challenge = challenge + "A"; }),
            grant_rejection::invalid_command);  // 44 characters
  EXPECT_EQ(bad([](issue_code& c) { c.code_challenge = std::string(42, 'A') + "="; }),
            grant_rejection::invalid_command);  // not base64url
  EXPECT_EQ(bad([](issue_code& c) { c.code_challenge = std::string(42, 'A') + "B"; }),
            grant_rejection::invalid_command);  // stray bits: not the spelling of 32 bytes
  EXPECT_EQ(bad([](issue_code& c) { c.resource = "https://api.example.com/#x"; }),
            grant_rejection::invalid_command);  // RFC 8707: no fragment
  EXPECT_EQ(bad([](issue_code& c) { c.resource = "/relative"; }),
            grant_rejection::invalid_command);  // RFC 8707: absolute
  // A code hash already issued is never issued again.
  EXPECT_EQ(refusal(given({created(), issued()}), issue()), grant_rejection::invalid_command);
}

TEST(oauth_grant_code, given_no_such_grant_when_issuing_then_grant_not_found) {
  EXPECT_EQ(refusal(grant_state{}, issue()), grant_rejection::grant_not_found);
  auto c = issue();
  c.grant_id = "grt_ZYXWVUTSRQPONMLKJIHGFE";  // another stream's grant
  EXPECT_EQ(refusal(given({created()}), c), grant_rejection::grant_not_found);
}

// ---- redeeming a code -------------------------------------------------------------------------

TEST(oauth_grant_redeem, given_an_issued_code_when_redeemed_then_a_family_starts_with_its_scopes) {
  const auto s = given({created(), issued(code_hash, t0(), {"leads:read"})});
  const auto e = the_one<code_redeemed>(s, redeem(t0() + 10s));
  EXPECT_EQ(e, redeemed());
  const auto after_redeem = given({created(), issued(code_hash, t0(), {"leads:read"}), e});
  const auto* f = after_redeem.find_family(family_id);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->code_hash, code_hash);
  EXPECT_EQ(f->scopes, (scopes{"leads:read"}));  // the code's, not the grant's
  EXPECT_EQ(f->resource, resource);
  EXPECT_EQ(f->refresh_hash, refresh_1);
  EXPECT_EQ(f->started_at, t0() + 10s);
  EXPECT_EQ(f->idle_expires_at, t0() + 10s + idle_lifetime);
  EXPECT_EQ(f->absolute_expires_at, t0() + 10s + absolute_lifetime);
  EXPECT_TRUE(f->live(t0() + 10s));
  EXPECT_EQ(after_redeem.find_code(code_hash)->redeemed_family, family_id);
  EXPECT_EQ(after_redeem.family_of_refresh(refresh_1), f);
}

TEST(oauth_grant_redeem, given_a_client_without_refresh_grant_then_the_family_has_no_token) {
  const auto s = after(given({created(), issued()}), redeem(t0() + 10s, family_id, ""));
  ASSERT_NE(s.find_family(family_id), nullptr);
  EXPECT_EQ(s.find_family(family_id)->refresh_hash, "");
  EXPECT_EQ(s.family_of_refresh(""), nullptr);
}

TEST(oauth_grant_redeem, given_a_redeemed_code_when_presented_again_then_code_reused_and_family) {
  const auto s = given_a_family();
  const auto again = redeem(t0() + 20s, second_family_id, refresh_2);
  EXPECT_EQ(refusal(s, again), grant_rejection::code_reused);
  EXPECT_EQ(family_of_reuse(s, again, grant_rejection::code_reused), family_id);
  // Another client presenting it is a reuse too: the code leaked.
  auto stolen = again;
  stolen.client_id = other_client_id;
  EXPECT_EQ(refusal(s, stolen), grant_rejection::code_reused);
}

TEST(oauth_grant_redeem, given_a_redeemed_code_when_presented_after_its_expiry_then_still_reused) {
  const auto s = given_a_family();
  const auto late = redeem(t0() + code_lifetime + 1h, second_family_id, refresh_2);
  EXPECT_EQ(refusal(s, late), grant_rejection::code_reused);
  EXPECT_EQ(family_of_reuse(s, late, grant_rejection::code_reused), family_id);
}

TEST(oauth_grant_redeem, given_an_issued_code_when_redeemed_at_its_expiry_then_code_expired) {
  const auto s = given({created(), issued()});
  EXPECT_EQ(refusal(s, redeem(t0() + code_lifetime)), grant_rejection::code_expired);
  EXPECT_FALSE(refusal(s, redeem(t0() + code_lifetime - 1us)));
  EXPECT_EQ(family_of_reuse(s, redeem(t0() + code_lifetime), grant_rejection::code_expired),
            std::nullopt);
}

TEST(oauth_grant_redeem, given_an_issued_code_when_another_client_presents_it_then_mismatch) {
  auto c = redeem();
  c.client_id = other_client_id;
  EXPECT_EQ(refusal(given({created(), issued()}), c), grant_rejection::code_mismatch);
}

TEST(oauth_grant_redeem, given_an_issued_code_when_the_redirect_uri_differs_at_all_then_mismatch) {
  const auto s = given({created(), issued()});
  for (const std::string& other :
       {std::string("https://app.example.com/call"),          // a prefix
        std::string("https://APP.example.com/callback"),      // case
        std::string("https://app.example.com/callback/x"),    // extra path
        std::string("https://app.example.com/callback?x=1"),  // extra query
        std::string("https://app.example.com/callback/"),     // trailing slash
        std::string("")}) {                                   // absent
    auto c = redeem();
    c.redirect_uri = other;
    EXPECT_EQ(refusal(s, c), grant_rejection::code_mismatch) << other;
  }
}

TEST(oauth_grant_redeem, given_an_issued_code_when_the_verifier_does_not_match_then_mismatch) {
  auto c = redeem();
  c.verifier_challenge = other_challenge;
  EXPECT_EQ(refusal(given({created(), issued()}), c), grant_rejection::code_mismatch);
  c.verifier_challenge = "";
  EXPECT_EQ(refusal(given({created(), issued()}), c), grant_rejection::code_mismatch);
}

TEST(oauth_grant_redeem, given_no_such_code_then_code_not_found) {
  auto c = redeem();
  c.code_hash = hash('d');
  EXPECT_EQ(refusal(given({created(), issued()}), c), grant_rejection::code_not_found);
  EXPECT_EQ(family_of_reuse(given({created()}), c, grant_rejection::code_not_found), std::nullopt);
}

TEST(oauth_grant_redeem, given_an_issued_code_when_the_callers_values_are_bad_then_invalid) {
  const auto s = given({created(), issued()});
  const auto bad = [&](auto change) {
    auto c = redeem();
    change(c);
    return refusal(s, c);
  };
  EXPECT_EQ(bad([](redeem_code& c) { c.family_id = "grt_0123456789abcdefghijkl"; }),
            grant_rejection::invalid_command);
  EXPECT_EQ(bad([](redeem_code& c) { c.refresh_hash = "short"; }),
            grant_rejection::invalid_command);
  EXPECT_EQ(bad([](redeem_code& c) { c.idle_lifetime = absolute_lifetime + 1s; }),
            grant_rejection::invalid_command);  // idle past absolute
  EXPECT_EQ(bad([](redeem_code& c) { c.idle_lifetime = 0s; }), grant_rejection::invalid_command);
  EXPECT_EQ(bad([](redeem_code& c) { c.absolute_lifetime = std::chrono::days(366); }),
            grant_rejection::invalid_command);
  // A family id or refresh token hash the grant already knows is not fresh.
  const auto with_family = given({created(), issued(), redeemed(), issued(hash('d'))});
  auto c = redeem(t0() + 20s, family_id, refresh_2);
  c.code_hash = hash('d');
  EXPECT_EQ(refusal(with_family, c), grant_rejection::invalid_command);
  c = redeem(t0() + 20s, second_family_id, refresh_1);
  c.code_hash = hash('d');
  EXPECT_EQ(refusal(with_family, c), grant_rejection::invalid_command);
  c.refresh_hash = refresh_2;
  EXPECT_FALSE(refusal(with_family, c));
}

// ---- names ------------------------------------------------------------------------------------

TEST(oauth_grant_names, event_types_streams_ids_and_reasons) {
  EXPECT_EQ(event_type(grant_event{grant_created{}}), "GrantCreated");
  EXPECT_EQ(event_type(grant_event{grant_extended{}}), "GrantExtended");
  EXPECT_EQ(event_type(grant_event{code_issued{}}), "CodeIssued");
  EXPECT_EQ(event_type(grant_event{code_redeemed{}}), "CodeRedeemed");
  EXPECT_EQ(event_type(grant_event{refresh_rotated{}}), "RefreshRotated");
  EXPECT_EQ(event_type(grant_event{family_revoked{}}), "FamilyRevoked");
  EXPECT_EQ(event_type(grant_event{grant_revoked{}}), "GrantRevoked");
  EXPECT_EQ(grant_stream_id(grant_id), "oauth_grant-" + grant_id);
  EXPECT_TRUE(valid_grant_id(grant_id));
  EXPECT_FALSE(valid_grant_id(family_id));
  EXPECT_TRUE(valid_family_id(family_id));
  EXPECT_FALSE(valid_family_id("rtf_0123456789abcdefghijk"));  // 21 characters
  for (const auto r : {family_end::code_reused, family_end::refresh_reused, family_end::revoked,
                       family_end::user_removed}) {
    EXPECT_EQ(parse_family_end(to_string(r)), r);
  }
  EXPECT_EQ(to_string(family_end::user_removed), "user_removed");
  EXPECT_EQ(parse_family_end("Revoked"), std::nullopt);
  EXPECT_EQ(parse_family_end(""), std::nullopt);
  EXPECT_EQ(to_string(grant_rejection::code_reused), "code_reused");
  EXPECT_EQ(to_string(grant_rejection::invalid_command), "invalid_command");
}

}  // namespace
}  // namespace keyledger::domain::oauth

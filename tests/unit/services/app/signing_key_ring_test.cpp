// signing_key_ring: signing with the active key (its private half loaded once, checked against
// the published key), verification against the published keys only, the JWKS, keys that cannot
// be used, and many signers beside the applier.
#include <atomic>
#include <thread>

#include "infra/json/signing_key_codec.hpp"
#include "tests/unit/services/app/signing_keys_fixture.hpp"

namespace keyledger::services::signing_testing {
namespace {

namespace oauth = domain::oauth;

class signing_key_ring_test : public signing_keys_test {
 protected:
  /// Appends `events` to the key stream as another writer would, then feeds the ring.
  void append(const std::vector<oauth::signing_key_event>& events) {
    std::vector<infra::new_event> stored;
    for (const auto& e : events) {
      stored.push_back(
          {domain::new_uuid(random_), std::string(oauth::event_type(e)), infra::encode_payload(e)});
    }
    events_.append(oauth::signing_keys_stream_id, service_.load(events_).version, stored, {},
                   domain::to_micros(clock_.now()));
    feed();
  }

  /// The JWKs of a JWKS document, parsed strictly.
  static std::vector<infra::parsed_jwk> keys_of(const std::string& jwks) {
    std::vector<infra::parsed_jwk> out;
    const std::string head = R"({"keys":[)";
    EXPECT_EQ(jwks.substr(0, head.size()), head);
    EXPECT_EQ(jwks.substr(jwks.size() - 2), "]}");
    auto body = jwks.substr(head.size(), jwks.size() - head.size() - 2);
    while (!body.empty()) {
      const auto end = body.find('}');
      auto parsed = infra::parse_es256_jwk(body.substr(0, end + 1));
      EXPECT_TRUE(parsed) << body;
      if (!parsed) break;
      out.push_back(std::move(*parsed));
      body = body.substr(std::min(body.size(), end + 2));
    }
    return out;
  }
};

TEST_F(signing_key_ring_test, without_an_active_key_nothing_is_signed_and_nothing_published) {
  const auto r = ring_.sign(claims());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), signing_failure::no_active_key);
  EXPECT_EQ(ring_.jwks_json(clock_.now()), R"({"keys":[]})");
  EXPECT_FALSE(ring_.active_kid());
  EXPECT_FALSE(ring_.wait_for_active_key(std::chrono::steady_clock::now() + 10ms));
}

TEST_F(signing_key_ring_test, a_token_is_signed_with_the_active_key_and_verifies) {
  const auto kid = tick().kid;
  const auto token = sign_ok(claims("usr_7"));
  EXPECT_EQ(kid_of(token), kid);
  const auto payload = ring_.verify(token);
  ASSERT_TRUE(payload.ok()) << to_string(payload.error());
  EXPECT_EQ(payload.value(), claims("usr_7"));
  // The JWKS holds exactly that key, public only.
  const auto jwks = ring_.jwks_json(clock_.now());
  const auto keys = keys_of(jwks);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].kid, kid);
  EXPECT_TRUE(infra::verify_compact_with_key(token, keys[0].key).ok());
  EXPECT_EQ(jwks.find(R"("d")"), std::string::npos);
}

TEST_F(signing_key_ring_test, the_private_key_is_loaded_once_per_kid) {
  tick();
  for (int i = 0; i < 20; ++i) sign_ok();
  EXPECT_EQ(secrets_.gets(), 1u);
  clock_.advance(29 * 24h);
  tick();
  clock_.advance(24h);
  const auto second = tick().kid;
  EXPECT_EQ(kid_of(sign_ok()), second);
  for (int i = 0; i < 20; ++i) sign_ok();
  EXPECT_EQ(secrets_.gets(), 2u);
}

TEST_F(signing_key_ring_test, the_signer_says_when_signing_needs_no_database) {
  const ring_token_signer signer(ring_);
  EXPECT_FALSE(signer.signs_without_io());  // no active key
  tick();
  EXPECT_FALSE(signer.signs_without_io());  // active, its private half not loaded yet
  sign_ok();
  EXPECT_TRUE(signer.signs_without_io());
  // A rotation: the next key signs only once its private half is loaded.
  clock_.advance(29 * 24h);
  tick();
  clock_.advance(24h);
  tick();
  EXPECT_FALSE(signer.signs_without_io());
  sign_ok();
  EXPECT_TRUE(signer.signs_without_io());
  EXPECT_EQ(secrets_.gets(), 2u);
}

TEST_F(signing_key_ring_test, a_retired_keys_tokens_verify_until_its_publication_ends) {
  tick();
  const auto old_token = sign_ok();
  clock_.advance(29 * 24h);
  tick();
  clock_.advance(24h);
  tick();  // the old key retires now
  EXPECT_TRUE(ring_.verify(old_token).ok());
  clock_.advance(24h + 5min - 1us);
  EXPECT_TRUE(ring_.verify(old_token).ok());
  EXPECT_EQ(keys_of(ring_.jwks_json(clock_.now())).size(), 2u);
  clock_.advance(1us);
  const auto late = ring_.verify(old_token);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error(), infra::jws_refusal::unknown_kid);
  EXPECT_EQ(keys_of(ring_.jwks_json(clock_.now())).size(), 1u);
}

TEST_F(signing_key_ring_test, a_pending_key_is_published_before_it_signs) {
  const auto first = tick().kid;
  clock_.advance(29 * 24h);
  const auto next = tick().kid;
  const auto keys = keys_of(ring_.jwks_json(clock_.now()));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, first);
  EXPECT_EQ(keys[1].kid, next);
  EXPECT_EQ(kid_of(sign_ok()), first);
}

TEST_F(signing_key_ring_test, tokens_of_other_algorithms_or_unknown_keys_are_refused) {
  tick();
  const auto token = sign_ok();
  const auto body = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  const auto none = domain::base64url_encode(std::string_view(
                        R"({"alg":"none","typ":"at+jwt","kid":")" + *ring_.active_kid() + "\"}")) +
                    "." + body + ".";
  EXPECT_EQ(ring_.verify(none).error(), infra::jws_refusal::unsupported_alg);
  const auto stranger = infra::sign_compact(infra::es256_key::generate(), *ring_.active_kid(),
                                            infra::access_token_typ, claims());
  EXPECT_EQ(ring_.verify(stranger).error(), infra::jws_refusal::bad_signature);
  const auto unknown =
      infra::sign_compact(infra::es256_key::generate(), "sig_UUUUUUUUUUUUUUUUUUUUUU",
                          infra::access_token_typ, claims());
  EXPECT_EQ(ring_.verify(unknown).error(), infra::jws_refusal::unknown_kid);
}

TEST_F(signing_key_ring_test, a_missing_or_foreign_private_key_signs_nothing) {
  // Two keys made elsewhere: A's row is missing, B's row holds another key's private half.
  const std::string kid_a = "sig_AAAAAAAAAAAAAAAAAAAAAA";
  const std::string kid_b = "sig_BBBBBBBBBBBBBBBBBBBBBB";
  const auto key_a = infra::es256_key::generate();
  append({oauth::signing_key_created{kid_a, "ES256", key_a.public_key().to_jwk(kid_a), clock_.now(),
                                     clock_.now()},
          oauth::signing_key_activated{kid_a, clock_.now()}});
  auto r = ring_.sign(claims());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), signing_failure::key_unavailable);
  // Not tried again at once: a missing row costs one read per retry interval, not per token.
  const auto reads = secrets_.gets();
  EXPECT_EQ(ring_.sign(claims()).error(), signing_failure::key_unavailable);
  EXPECT_EQ(secrets_.gets(), reads);

  const auto key_b = infra::es256_key::generate();
  const auto impostor = infra::es256_key::generate();
  secrets_.put(kid_b, sealer_.seal(impostor.to_pkcs8_der().reveal(), kid_b));
  append({oauth::signing_key_created{kid_b, "ES256", key_b.public_key().to_jwk(kid_b), clock_.now(),
                                     clock_.now()},
          oauth::signing_key_retired{kid_a, clock_.now(), clock_.now()},
          oauth::signing_key_activated{kid_b, clock_.now()}});
  r = ring_.sign(claims());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), signing_failure::key_unavailable);

  // Sealed under another kid (a row copied over): it does not open.
  const std::string kid_c = "sig_CCCCCCCCCCCCCCCCCCCCCC";
  const auto key_c = infra::es256_key::generate();
  secrets_.put(kid_c, sealer_.seal(key_c.to_pkcs8_der().reveal(), kid_b));
  append({oauth::signing_key_created{kid_c, "ES256", key_c.public_key().to_jwk(kid_c), clock_.now(),
                                     clock_.now()},
          oauth::signing_key_retired{kid_b, clock_.now(), clock_.now()},
          oauth::signing_key_activated{kid_c, clock_.now()}});
  r = ring_.sign(claims());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), signing_failure::key_unavailable);
}

TEST_F(signing_key_ring_test, a_key_whose_jwk_is_unusable_is_never_published_nor_used) {
  const std::string kid = "sig_AAAAAAAAAAAAAAAAAAAAAA";
  const auto key = infra::es256_key::generate();
  secrets_.put(kid, sealer_.seal(key.to_pkcs8_der().reveal(), kid));
  // The JWK names another kid.
  append({oauth::signing_key_created{kid, "ES256", key.public_key().to_jwk("sig_other"),
                                     clock_.now(), clock_.now()},
          oauth::signing_key_activated{kid, clock_.now()}});
  EXPECT_EQ(ring_.active_kid(), kid);
  EXPECT_EQ(ring_.jwks_json(clock_.now()), R"({"keys":[]})");
  EXPECT_EQ(ring_.sign(claims()).error(), signing_failure::key_unavailable);
  EXPECT_EQ(secrets_.gets(), 0u);
}

TEST_F(signing_key_ring_test, an_undecodable_or_foreign_event_is_skipped) {
  infra::recorded_event junk;
  junk.global_seq = 7;
  junk.stream_id = "signing_keys-server";
  junk.type = "SigningKeyCreated";
  junk.payload = "{not json";
  ring_.apply(junk);
  EXPECT_EQ(ring_.applied_seq(), 7u);
  infra::recorded_event foreign;
  foreign.global_seq = 8;
  foreign.stream_id = "signing_keys-other";
  foreign.type = "SigningKeyActivated";
  foreign.payload = R"({"kid":"sig_AAAAAAAAAAAAAAAAAAAAAA","at":"2027-01-15T08:00:00Z"})";
  ring_.apply(foreign);
  EXPECT_EQ(ring_.applied_seq(), 8u);
  EXPECT_TRUE(ring_.state().keys.empty());
  EXPECT_EQ(ring_.state().version, 0u);
}

TEST_F(signing_key_ring_test, a_waiter_wakes_when_a_key_becomes_active) {
  std::thread applier([this] { tick(); });
  EXPECT_TRUE(ring_.wait_for_active_key(std::chrono::steady_clock::now() + 10s));
  applier.join();
  EXPECT_TRUE(ring_.active_kid());
}

TEST_F(signing_key_ring_test, many_signers_and_one_applier_through_a_rotation) {
  tick();
  constexpr int signers = 4;
  constexpr int tokens_each = 150;
  std::atomic<int> failures{0};
  std::atomic<int> signed_tokens{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < signers; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < tokens_each; ++n) {
        const auto token = ring_.sign(claims("usr_" + std::to_string(i)));
        if (!token.ok() || !ring_.verify(token.value()).ok()) ++failures;
        ++signed_tokens;
      }
    });
  }
  // Meanwhile the rotation happens.
  std::thread applier([&] {
    clock_.advance(29 * 24h);
    tick();
    clock_.advance(24h);
    tick();
  });
  for (auto& t : threads) t.join();
  applier.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(signed_tokens.load(), signers * tokens_each);
  EXPECT_EQ(ring_.state().keys.size(), 2u);
  // One load per kid, but for signers that read the old key as active just as it retired
  // (such a key is not kept in memory, so each of them loads it once).
  EXPECT_LE(secrets_.gets(), 2u + signers);
}

TEST_F(signing_key_ring_test, the_same_token_again_skips_the_signature_not_the_publication) {
  tick();
  const auto token = sign_ok(claims("usr_9"));
  ASSERT_TRUE(ring_.verify(token).ok());
  EXPECT_EQ(ring_.remembered_hits(), 0u);
  const auto again = ring_.verify(token);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), claims("usr_9"));
  EXPECT_EQ(ring_.remembered_hits(), 1u);
  // One byte off in the signature is another token: verified in full, and refused.
  auto altered = token;
  altered[altered.size() - 2] = altered[altered.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ring_.verify(altered).ok());
  EXPECT_FALSE(ring_.verify(altered).ok());
  // A prefix or an extension of a remembered token is not it either.
  EXPECT_FALSE(ring_.verify(token.substr(0, token.size() - 1)).ok());
  EXPECT_FALSE(ring_.verify(token + "A").ok());
  EXPECT_EQ(ring_.remembered_hits(), 1u);
}

TEST_F(signing_key_ring_test, a_remembered_token_is_refused_once_its_key_is_unpublished) {
  tick();
  const auto token = sign_ok();
  ASSERT_TRUE(ring_.verify(token).ok());
  ASSERT_TRUE(ring_.verify(token).ok());
  // The emergency rotation unpublishes every earlier key at once.
  const request_context ctx{"cli", "req_test", "", ""};
  ASSERT_TRUE(service_.rotate(events_, secrets_, true, ctx).ok());
  feed();
  const auto after = ring_.verify(token);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error(), infra::jws_refusal::unknown_kid);
}

TEST_F(signing_key_ring_test, a_remembered_token_ends_with_its_keys_publication_without_an_event) {
  tick();
  const auto old_token = sign_ok();
  clock_.advance(29 * 24h);
  tick();
  clock_.advance(24h);
  tick();  // the old key retires now, published 24 h 5 min more
  ASSERT_TRUE(ring_.verify(old_token).ok());
  clock_.advance(24h + 5min - 1us);
  const auto hits = ring_.remembered_hits();
  ASSERT_TRUE(ring_.verify(old_token).ok());
  EXPECT_EQ(ring_.remembered_hits(), hits + 1);
  // No event in between: the clock alone ends the publication, and the memory with it.
  clock_.advance(1us);
  const auto late = ring_.verify(old_token);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error(), infra::jws_refusal::unknown_kid);
}

TEST_F(signing_key_ring_test, the_memory_is_bounded) {
  tick();
  const auto first = sign_ok(claims("usr_first"));
  ASSERT_TRUE(ring_.verify(first).ok());
  for (std::size_t i = 0; i < max_remembered_tokens; ++i) {
    ASSERT_TRUE(ring_.verify(sign_ok(claims("usr_" + std::to_string(i)))).ok());
  }
  // The first was forgotten when the memory filled: verified in full again, and still good.
  const auto hits = ring_.remembered_hits();
  ASSERT_TRUE(ring_.verify(first).ok());
  EXPECT_EQ(ring_.remembered_hits(), hits);
}

}  // namespace
}  // namespace keyledger::services::signing_testing

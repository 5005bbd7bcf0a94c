// signing_key_service and the rotation job: the schedule's steps through the command executor,
// sealed private keys stored before their event, racing nodes, the operator's rotations, and
// failures that leave nothing half done.
#include <latch>
#include <thread>

#include "tests/unit/services/app/signing_keys_fixture.hpp"

namespace keyledger::services::signing_testing {
namespace {

namespace oauth = domain::oauth;
using kind = signing_key_step::kind;

const request_context cli_ctx{"cli", "req_test", "", ""};

class signing_key_service_test : public signing_keys_test {};

TEST_F(signing_key_service_test, a_fresh_log_gets_an_active_key_on_the_first_pass) {
  const auto step = tick();
  EXPECT_EQ(step.what, kind::created);
  EXPECT_TRUE(oauth::valid_signing_key_id(step.kid)) << step.kid;
  EXPECT_GT(step.global_seq, 0u);
  const auto state = service_.load(events_);
  ASSERT_NE(state.active(), nullptr);
  EXPECT_EQ(state.active()->kid, step.kid);
  EXPECT_EQ(ring_.active_kid(), step.kid);
  // Its events, on the one stream, by the schedule.
  const auto log = events_.events();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].stream_id, "signing_keys-server");
  EXPECT_EQ(log[0].type, "SigningKeyCreated");
  EXPECT_EQ(log[1].type, "SigningKeyActivated");
  EXPECT_NE(log[0].metadata.find("signing-key-schedule"), std::string::npos) << log[0].metadata;
  // Nothing more is due.
  EXPECT_EQ(tick().what, kind::nothing);
  EXPECT_EQ(events_.events().size(), 2u);
}

TEST_F(signing_key_service_test,
       the_private_key_is_stored_sealed_under_its_kid_and_never_in_an_event) {
  const auto kid = tick().kid;
  const auto rows = secrets_.rows();
  ASSERT_EQ(rows.size(), 1u);
  const auto& sealed = rows.at(kid);
  // It opens with the kid as associated data, and only so.
  const auto opened = sealer_.open(sealed, kid);
  ASSERT_TRUE(opened);
  EXPECT_FALSE(sealer_.open(sealed, "sig_AAAAAAAAAAAAAAAAAAAAAA"));
  const infra::secret der{std::string(*opened)};
  const auto key = infra::es256_key::from_pkcs8_der(der);
  ASSERT_TRUE(key);
  // The opened key is the published one.
  const auto published = infra::parse_es256_jwk(ring_.state().find(kid)->public_jwk);
  ASSERT_TRUE(published);
  EXPECT_TRUE(published->key == key->public_key());
  // No form of the private key in the log: not the DER, its hex or base64url, not the sealed
  // bytes, and no "d" member.
  const std::string der_bytes(der.reveal());
  const auto b64 = domain::base64url_encode(der_bytes);
  const auto hex = infra::to_hex(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(der_bytes.data()), der_bytes.size()));
  // The private scalar sits at a fixed place of a P-256 PKCS#8 (after 04 20 in the
  // ECPrivateKey): look for it alone too.
  const auto scalar_at = der_bytes.find(std::string("\x04\x20", 2));
  ASSERT_NE(scalar_at, std::string::npos);
  const auto scalar = der_bytes.substr(scalar_at + 2, 32);
  for (const auto& e : events_.events()) {
    const auto all = e.payload + e.metadata;
    EXPECT_EQ(all.find(der_bytes), std::string::npos);
    EXPECT_EQ(all.find(b64), std::string::npos);
    EXPECT_EQ(all.find(hex), std::string::npos);
    EXPECT_EQ(all.find(domain::base64url_encode(scalar)), std::string::npos);
    EXPECT_EQ(all.find(scalar), std::string::npos);
    EXPECT_EQ(all.find(sealed), std::string::npos);
    EXPECT_EQ(all.find(R"(\"d\")"), std::string::npos) << all;
  }
}

TEST_F(signing_key_service_test, the_schedule_rotates_with_a_published_overlap) {
  const auto first = tick().kid;
  // Just before every - overlap: nothing.
  clock_.advance(29 * 24h - 1s);
  EXPECT_EQ(tick().what, kind::nothing);
  // Then a key is created, published, not yet signing.
  clock_.advance(1s);
  const auto second = tick();
  ASSERT_EQ(second.what, kind::created);
  const auto state = service_.load(events_);
  ASSERT_NE(state.pending(), nullptr);
  EXPECT_EQ(state.pending()->kid, second.kid);
  EXPECT_EQ(state.pending()->activate_after, clock_.now() + 24h);
  EXPECT_EQ(ring_.active_kid(), first);
  const auto jwks = ring_.jwks_json(clock_.now());
  EXPECT_NE(jwks.find(first), std::string::npos);
  EXPECT_NE(jwks.find(second.kid), std::string::npos);
  EXPECT_EQ(kid_of(sign_ok()), first);
  // A day later it signs, and the first key retires.
  clock_.advance(24h - 1s);
  EXPECT_EQ(tick().what, kind::nothing);
  clock_.advance(1s);
  const auto third = tick();
  EXPECT_EQ(third.what, kind::activated);
  EXPECT_EQ(third.kid, second.kid);
  EXPECT_EQ(ring_.active_kid(), second.kid);
  // find() points into the set: the set must outlive it (a temporary's did not; ASan).
  const auto after = service_.load(events_);
  const auto retired = after.find(first);
  ASSERT_NE(retired, nullptr);
  EXPECT_EQ(retired->status, oauth::signing_key_status::retired);
  EXPECT_EQ(retired->publish_until, clock_.now() + 24h + 5min);
}

TEST_F(signing_key_service_test,
       of_two_nodes_taking_the_same_step_one_wins_and_the_other_lost_a_race) {
  // Node B takes the first step while node A is between its read and its append.
  signing_key_service node_b(sealer_, random_, clock_);
  signing_key_step b_step;
  interleaving_event_store a_view(events_);
  a_view.interleave = [&] { b_step = node_b.run_schedule(events_, secrets_); };
  const auto a_step = service_.run_schedule(a_view, secrets_);
  EXPECT_EQ(b_step.what, kind::created);
  EXPECT_EQ(a_step.what, kind::lost_race);
  feed();
  const auto state = service_.load(events_);
  ASSERT_EQ(state.keys.size(), 1u);
  EXPECT_EQ(state.active()->kid, b_step.kid);
  // A's sealed key was stored before its append failed: an orphan no event names.
  EXPECT_EQ(secrets_.rows().size(), 2u);
  EXPECT_EQ(kid_of(sign_ok()), b_step.kid);
  // On its next pass A sees B's key: nothing is due.
  EXPECT_EQ(service_.run_schedule(events_, secrets_).what, kind::nothing);
}

TEST_F(signing_key_service_test, many_nodes_at_once_make_exactly_one_first_key) {
  constexpr int nodes = 6;
  std::latch go(nodes);
  std::vector<signing_key_step> steps(nodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < nodes; ++i) {
    threads.emplace_back([&, i] {
      signing_key_service node(sealer_, random_, clock_);
      go.arrive_and_wait();
      steps[i] = node.run_schedule(events_, secrets_);
    });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  for (const auto& s : steps) {
    created += s.what == kind::created;
    EXPECT_TRUE(s.what == kind::created || s.what == kind::lost_race || s.what == kind::nothing)
        << to_string(s.what);
  }
  EXPECT_EQ(created, 1);
  const auto state = service_.load(events_);
  EXPECT_EQ(state.keys.size(), 1u);
  EXPECT_NE(state.active(), nullptr);
}

TEST_F(signing_key_service_test, no_event_is_appended_when_the_private_key_cannot_be_stored) {
  secrets_.fail_puts(true);
  EXPECT_THROW(service_.run_schedule(events_, secrets_), infra::error);
  EXPECT_TRUE(events_.events().empty());
  secrets_.fail_puts(false);
  EXPECT_EQ(tick().what, kind::created);
}

TEST_F(signing_key_service_test,
       a_failed_append_leaves_an_orphan_row_and_the_next_pass_makes_another_key) {
  events_.fail_next_append(infra::errc::unavailable);
  EXPECT_THROW(service_.run_schedule(events_, secrets_), infra::error);
  EXPECT_TRUE(events_.events().empty());
  EXPECT_EQ(secrets_.rows().size(), 1u);  // harmless: nothing names it
  const auto step = tick();
  EXPECT_EQ(step.what, kind::created);
  EXPECT_EQ(secrets_.rows().size(), 2u);
  EXPECT_EQ(kid_of(sign_ok()), step.kid);
}

// ---- the operator's rotation ----------------------------------------------------------------

TEST_F(signing_key_service_test, a_rotation_publishes_a_key_that_signs_after_the_overlap) {
  const auto first = tick().kid;
  clock_.advance(3 * 24h);
  const auto rotated = service_.rotate(events_, secrets_, false, cli_ctx);
  ASSERT_TRUE(rotated.ok()) << rotated.error().text;
  EXPECT_EQ(rotated->what, kind::created);
  feed();
  const auto state = service_.load(events_);
  EXPECT_EQ(state.pending()->kid, rotated->kid);
  EXPECT_EQ(state.pending()->activate_after, clock_.now() + 24h);
  EXPECT_EQ(ring_.active_kid(), first);
  EXPECT_NE(ring_.jwks_json(clock_.now()).find(rotated->kid), std::string::npos);
  // The event names the operator.
  EXPECT_NE(events_.events().back().metadata.find("\"cli\""), std::string::npos);
  // A second rotation while one is under way is refused.
  const auto again = service_.rotate(events_, secrets_, false, cli_ctx);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "PENDING_KEY_EXISTS");
  EXPECT_NE(again.error().text.find(rotated->kid), std::string::npos);
  // The schedule activates it after the overlap.
  clock_.advance(24h);
  EXPECT_EQ(tick().kid, rotated->kid);
  EXPECT_EQ(ring_.active_kid(), rotated->kid);
}

TEST_F(signing_key_service_test, a_rotation_on_an_empty_log_activates_at_once) {
  const auto rotated = service_.rotate(events_, secrets_, false, cli_ctx);
  ASSERT_TRUE(rotated.ok()) << rotated.error().text;
  feed();
  EXPECT_EQ(ring_.active_kid(), rotated->kid);
}

TEST_F(signing_key_service_test,
       an_immediate_rotation_signs_at_once_and_unpublishes_every_earlier_key) {
  tick();
  const auto old_token = sign_ok();
  ASSERT_TRUE(ring_.verify(old_token).ok());
  clock_.advance(29 * 24h);
  const auto pending = tick().kid;  // a scheduled successor, too
  clock_.advance(1h);
  const auto rotated = service_.rotate(events_, secrets_, true, cli_ctx);
  ASSERT_TRUE(rotated.ok()) << rotated.error().text;
  feed();
  EXPECT_EQ(ring_.active_kid(), rotated->kid);
  EXPECT_EQ(ring_.jwks_json(clock_.now()),
            R"({"keys":[)" + ring_.state().find(rotated->kid)->public_jwk + "]}");
  EXPECT_EQ(ring_.jwks_json(clock_.now()).find(pending), std::string::npos);
  // Tokens of the earlier keys no longer verify; new ones do.
  const auto refused = ring_.verify(old_token);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), infra::jws_refusal::unknown_kid);
  EXPECT_TRUE(ring_.verify(sign_ok()).ok());
  // Nothing is left pending for the schedule.
  EXPECT_EQ(tick().what, kind::nothing);
}

TEST_F(signing_key_service_test, a_rotation_under_another_server_secret_is_refused) {
  tick();
  const auto head = events_.head_seq();
  infra::response_sealer other(infra::derive_key(std::string(32, 'o'), signing_key_sealing_info));
  signing_key_service elsewhere(other, random_, clock_);
  for (const bool immediately : {false, true}) {
    const auto r = elsewhere.rotate(events_, secrets_, immediately, cli_ctx);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "WRONG_SERVER_SECRET");
  }
  EXPECT_EQ(events_.head_seq(), head);
  EXPECT_EQ(secrets_.rows().size(), 1u);
}

TEST_F(signing_key_service_test, a_rotation_that_loses_a_race_is_a_conflict) {
  tick();
  interleaving_event_store racing(events_);
  racing.interleave = [&] { service_.rotate(events_, secrets_, false, cli_ctx); };
  const auto r = service_.rotate(racing, secrets_, false, cli_ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "CONFLICT");
  EXPECT_EQ(service_.load(events_).keys.size(), 2u);
}

TEST_F(signing_key_service_test, a_policy_with_an_overlap_not_below_the_period_is_refused) {
  EXPECT_THROW(signing_key_service(sealer_, random_, clock_, {24h, 24h}), infra::error);
}

// ---- the job --------------------------------------------------------------------------------

TEST_F(signing_key_service_test, the_job_runs_once_at_start_up_then_on_its_interval) {
  std::mutex mutex;
  std::condition_variable appended;
  std::size_t appends = 0;
  const auto count_append = [&] {
    {
      std::lock_guard lock(mutex);
      ++appends;
    }
    appended.notify_all();
  };
  signing_key_rotation job(
      service_,
      [&]() -> std::unique_ptr<infra::event_store> {
        auto store = std::make_unique<interleaving_event_store>(events_);
        store->after_append = count_append;
        return store;
      },
      [this] { return open_secrets(); }, {std::chrono::milliseconds(5)});
  EXPECT_EQ(job.run_once().what, kind::created);
  EXPECT_EQ(job.run_once().what, kind::nothing);
  feed();
  ASSERT_TRUE(ring_.active_kid());
  // Once the clock says so, one of the worker's passes creates the successor.
  clock_.advance(29 * 24h);
  job.start();
  {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(appended.wait_for(lock, 10s, [&] { return appends == 2; }));
  }
  job.stop();
  job.stop();  // idempotent
  const auto state = service_.load(events_);
  ASSERT_NE(state.pending(), nullptr);
  EXPECT_EQ(state.pending()->activate_after, clock_.now() + 24h);
}

}  // namespace
}  // namespace keyledger::services::signing_testing

// The verifiable log against a real PostgreSQL: the checkpoint signer over pg_event_store and
// pg_audit_store (the tree, checkpoints, proofs, one checkpoint per size with racing writers),
// the application role unable to change what it wrote, and every tampering with the real
// events table - as a superuser with its triggers disabled - found by the offline verifier in an
// export and by the monitor.

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <sstream>
#include <thread>
#include <vector>

#include "infra/core/event_log/chain.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "infra/pg/pg_audit_store.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/audit_monitor.hpp"
#include "services/app/audit/audit_proofs.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/app/audit/log_export.hpp"
#include "services/app/audit/offline_verifier.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using namespace std::chrono_literals;
namespace audit = domain::audit;

class audit_log_test : public ::testing::Test {
 protected:
  audit_log_test()
      : clock_(*domain::parse_timestamp("2026-12-07T10:00:00Z")),
        sealer_(infra::derive_key("integration-secret", services::checkpoint_key_seal_info)),
        key_(services::checkpoint_key::load_or_create(audit_, sealer_, "keyledger.test/pg")),
        verifier_(*services::checkpoint_verifier::parse(key_.verifier_key())),
        proofs_(hasher_) {}

  services::audit_log_writer writer(std::uint64_t every = 10) {
    services::audit_log_writer::options o;
    o.checkpoint_every_events = every;
    o.checkpoint_every = 3600s;
    return services::audit_log_writer(hasher_, key_, clock_, o);
  }

  /// `n` events over a few keys of two workspaces.
  void append(int n) {
    for (int i = 0; i < n; ++i) {
      const auto stream = "api_key-key_" + std::to_string(i % 7);
      const auto version = events_.read_stream(stream).size();
      const std::string ws = i % 7 < 4 ? "ws_a" : "ws_b";
      events_.append(
          stream, version,
          {make_event(version == 0 ? "KeyCreated" : "KeyUpdated",
                      R"({"workspace_id":")" + ws + R"(","i":)" + std::to_string(i) + "}")},
          sample_metadata(), domain::to_micros(clock_.now()));
      clock_.advance(1s);
    }
  }

  services::audit_verification verify_export() {
    std::ostringstream out;
    services::export_audit_log(events_, audit_, 0, clock_, out, {});
    std::istringstream in(out.str());
    return services::verify_audit_file(in, verifier_, hasher_);
  }

  /// Runs `sql` on the events table as the superuser, its triggers off.
  void tamper(const std::string& sql) {
    admin_query(db_.conninfo(), "ALTER TABLE events DISABLE TRIGGER USER; " + sql +
                                    "; ALTER TABLE events ENABLE TRIGGER USER");
  }

  void expect_export_fails(const std::string& named) {
    const auto v = verify_export();
    EXPECT_FALSE(v.ok) << v.message;
    EXPECT_NE(v.message.find(named), std::string::npos) << v.message;
  }

  test_support::test_database db_;
  test_support::manual_clock clock_;
  infra::pg_event_store events_{db_.conninfo()};
  infra::pg_audit_store audit_{db_.conninfo()};
  infra::response_sealer sealer_;
  infra::rfc6962_hasher hasher_;
  services::checkpoint_key key_;
  services::checkpoint_verifier verifier_;
  services::audit_proofs proofs_;
};

TEST_F(audit_log_test, the_tree_and_checkpoints_follow_the_real_log_and_their_proofs_verify) {
  append(45);
  auto w = writer(10);
  EXPECT_EQ(w.run_once(audit_).checkpoints, 4u);
  EXPECT_EQ(audit_.tree_size(), 45u);
  const auto cps = audit_.checkpoints(0, 100);
  ASSERT_EQ(cps.size(), 4u);
  EXPECT_EQ(cps.back().tree_size, 40u);
  EXPECT_EQ(audit_.latest_checkpoint()->tree_size, 40u);
  EXPECT_EQ(audit_.checkpoint_at(20)->note, cps[1].note);
  EXPECT_FALSE(audit_.checkpoint_at(21));
  for (const auto& c : cps) {
    auto opened = verifier_.open(c.note);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ(opened->root, c.root);
    EXPECT_EQ(proofs_.root(audit_, c.tree_size).value(), c.root);
  }
  const auto root = cps.back().root;
  for (std::uint64_t seq = 1; seq <= 40; ++seq) {
    auto p = proofs_.inclusion(audit_, seq, 40).value();
    EXPECT_EQ(audit::verify_inclusion(hasher_, seq - 1, 40, p.leaf_hash, p.proof, root),
              audit::proof_verdict::valid);
  }
  auto c = proofs_.consistency(audit_, 17, 40).value();
  EXPECT_EQ(
      audit::verify_consistency(hasher_, 17, 40, c.proof, proofs_.root(audit_, 17).value(), root),
      audit::proof_verdict::valid);
  // A workspace's events are its own, with the exact bytes.
  const auto page = proofs_.workspace_events(audit_, "ws_b", 0, 100);
  ASSERT_FALSE(page.events.empty());
  const auto all = events_.read_all(0, 100);
  for (const auto& e : page.events) {
    EXPECT_GE(std::stoi(e.event.stream_id.substr(12)), 4);
    EXPECT_EQ(e.event.payload, all[e.event.global_seq - 1].payload);
    EXPECT_EQ(e.previous_hash,
              e.event.global_seq == 1 ? infra::sha256_digest{} : all[e.event.global_seq - 2].hash);
  }
  EXPECT_TRUE(verify_export().ok) << verify_export().message;
}

TEST_F(audit_log_test, racing_writers_on_their_own_connections_sign_one_checkpoint_per_size) {
  constexpr int writers = 3;
  std::atomic<bool> done{false};
  std::latch go(writers + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i) {
    threads.emplace_back([&] {
      infra::pg_audit_store mine(db_.conninfo());
      auto w = writer(7);
      go.arrive_and_wait();
      while (!done.load()) w.run_once(mine);
      w.run_once(mine);
    });
  }
  go.arrive_and_wait();
  append(60);
  done = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(audit_.tree_size(), 60u);
  const auto cps = audit_.checkpoints(0, 100);
  std::vector<std::uint64_t> sizes;
  for (const auto& c : cps) sizes.push_back(c.tree_size);
  EXPECT_EQ(sizes, (std::vector<std::uint64_t>{7, 14, 21, 28, 35, 42, 49, 56}));
  EXPECT_TRUE(verify_export().ok) << verify_export().message;
}

TEST_F(audit_log_test, the_application_role_cannot_change_the_tree_or_the_checkpoints) {
  append(10);
  auto w = writer(10);
  w.run_once(audit_);
  for (const auto& sql :
       {"UPDATE audit_tree_nodes SET hash = hash", "DELETE FROM audit_tree_nodes",
        "UPDATE audit_checkpoints SET note = note", "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints", "DELETE FROM audit_checkpoint_key",
        "UPDATE audit_streams SET workspace_id = 'ws_x'"}) {
    // As the application's role, and as the owner: refused either way (privilege or trigger).
    EXPECT_THROW(admin_query(db_.conninfo(), std::string("SET ROLE keyledger_app; ") + sql),
                 std::exception)
        << sql;
    EXPECT_THROW(admin_query(db_.conninfo(), sql), std::exception) << sql;
  }
  EXPECT_EQ(audit_.tree_size(), 10u);
  EXPECT_EQ(audit_.checkpoints(0, 10).size(), 1u);
}

class audit_tamper_test : public audit_log_test {
 protected:
  void SetUp() override {
    append(30);
    auto w = writer(10);
    w.run_once(audit_);  // checkpoints at 10, 20, 30
    ASSERT_TRUE(verify_export().ok);
  }
};

TEST_F(audit_tamper_test, an_altered_payload_byte) {
  tamper(
      "UPDATE events SET payload = replace(payload, '\"i\":12', '\"i\":13') WHERE global_seq = 13");
  expect_export_fails("event 13: its hash does not match");
}

TEST_F(audit_tamper_test, an_altered_metadata_byte) {
  tamper(
      "UPDATE events SET metadata = replace(metadata, '192.0.2.7', '192.0.2.8') "
      "WHERE global_seq = 5");
  expect_export_fails("event 5: its hash does not match");
}

TEST_F(audit_tamper_test, a_deleted_event_in_the_middle) {
  tamper("DELETE FROM events WHERE global_seq = 15");
  expect_export_fails("event 15 is missing");
}

TEST_F(audit_tamper_test, two_events_swapped) {
  tamper(
      "UPDATE events SET global_seq = 1000000 WHERE global_seq = 8; "
      "UPDATE events SET global_seq = 8 WHERE global_seq = 9; "
      "UPDATE events SET global_seq = 9 WHERE global_seq = 1000000");
  expect_export_fails("event 8: its hash does not match");
}

TEST_F(audit_tamper_test, an_inserted_event) {
  // Room made by moving the later events up one, then a copy of event 11 put in at 12.
  tamper(
      "UPDATE events SET global_seq = global_seq + 1000 WHERE global_seq > 11; "
      "UPDATE events SET global_seq = global_seq - 999 WHERE global_seq > 1000; "
      "INSERT INTO events SELECT 12, stream_id, version + 100, gen_random_uuid(), type, payload, "
      "metadata, recorded_at, hash FROM events WHERE global_seq = 11");
  expect_export_fails("event 12: its hash does not match");
}

TEST_F(audit_tamper_test, a_dropped_tail) {
  tamper("DELETE FROM events WHERE global_seq > 24");
  expect_export_fails("checkpoint 30: the export ends at event 24");
  // A node starting on this log applies 24 events and finds the signed 30 beyond its end.
  services::audit_monitor monitor(hasher_, verifier_);
  for (const auto& e : events_.read_all(0, 100)) monitor.apply(e);
  monitor.check_checkpoints(audit_, proofs_);
  ASSERT_TRUE(monitor.failure());
  EXPECT_NE(monitor.failure()->find("checkpoint 30: the log ends at event 24"), std::string::npos)
      << *monitor.failure();
}

TEST_F(audit_tamper_test, a_rewritten_chain_is_caught_by_the_signed_roots_and_the_monitor) {
  // Event 13 rewritten and every hash from it recomputed, as someone with the table could.
  const auto all = events_.read_all(0, 100);
  infra::sha256_digest previous = all[11].hash;
  std::string sql;
  for (std::size_t i = 12; i < all.size(); ++i) {
    auto e = all[i];
    if (e.global_seq == 13) e.payload = R"({"workspace_id":"ws_a","i":"rewritten"})";
    e.hash = infra::chain_hash(previous, e);
    previous = e.hash;
    sql += "UPDATE events SET payload = '" + e.payload + "', hash = decode('" +
           infra::to_hex(std::span<const std::uint8_t>(e.hash.data(), e.hash.size())) +
           "', 'hex') WHERE global_seq = " + std::to_string(e.global_seq) + "; ";
  }
  tamper(sql);
  EXPECT_TRUE(infra::verify_chain(events_).ok);  // the chain alone no longer tells
  expect_export_fails("checkpoint 20: its signed root is not the root of the events");

  services::audit_monitor monitor(hasher_, verifier_);
  for (const auto& e : events_.read_all(0, 100)) monitor.apply(e);
  EXPECT_FALSE(monitor.failure());  // each link holds
  monitor.check_checkpoints(audit_, proofs_);
  ASSERT_TRUE(monitor.failure());
  EXPECT_NE(monitor.failure()->find("checkpoint 30: its root is not the root of the events"),
            std::string::npos)
      << *monitor.failure();
}

}  // namespace
}  // namespace keyledger::integration

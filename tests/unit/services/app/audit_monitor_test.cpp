// The monitor every node runs: each event's chain link recomputed as it is applied, each signed
// checkpoint checked against the events applied (through a consistency proof from the stored
// tree, which it does not trust), and the first mismatch kept.
#include "services/app/audit/audit_monitor.hpp"

#include "tests/unit/services/app/audit_fixture.hpp"

namespace keyledger::services::audit_testing {
namespace {

class audit_monitor_test : public audit_test {
 protected:
  void feed(audit_monitor& m, std::uint64_t after = 0) {
    for (const auto& e : events_.read_all(after, 1000)) m.apply(e);
  }
  audit_monitor monitor_{hasher_, verifier_};
};

TEST_F(audit_monitor_test, checkpoints_that_hold_are_checked_and_nothing_is_reported) {
  auto writer = make_writer(4);
  append_many(10);
  feed(monitor_);
  // The stored tree has not reached the 10 events applied: nothing to check against yet.
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 0u);
  writer.run_once(audit_);  // the tree at 10, checkpoints at 4 and 8
  // At start, only the latest: 8, through a proof from 8 to the 10 events applied.
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 1u);
  EXPECT_EQ(monitor_.checked_size(), 8u);
  clock_.advance(20s);
  writer.run_once(audit_);  // a time-based checkpoint at 10
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 1u);
  EXPECT_EQ(monitor_.checked_size(), 10u);
  append_many(6);
  writer.run_once(audit_);  // 14: four after the last one
  feed(monitor_, 10);
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 1u);
  EXPECT_EQ(monitor_.checked_size(), 14u);
  EXPECT_FALSE(monitor_.failure());
  EXPECT_EQ(monitor_.failures(), 0u);
  // Delivered twice (at least once): skipped.
  feed(monitor_, 14);
  EXPECT_FALSE(monitor_.failure());
}

TEST_F(audit_monitor_test, an_event_whose_bytes_were_altered_is_reported) {
  append_many(5);
  auto events = events_.events();
  events[2].payload[3] = 'X';
  for (const auto& e : events) monitor_.apply(e);
  ASSERT_TRUE(monitor_.failure());
  EXPECT_NE(monitor_.failure()->find("seq 3: hash mismatch"), std::string::npos);
  EXPECT_EQ(monitor_.failures(), 1u);
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 0u);  // nothing more is checked
}

TEST_F(audit_monitor_test, a_missing_event_is_reported) {
  append_many(5);
  auto events = events_.events();
  events.erase(events.begin() + 2);
  for (const auto& e : events) monitor_.apply(e);
  ASSERT_TRUE(monitor_.failure());
  EXPECT_NE(monitor_.failure()->find("seq 4: the events before it are missing"), std::string::npos);
}

TEST_F(audit_monitor_test, a_stored_tree_that_does_not_lead_to_the_events_is_reported) {
  auto writer = make_writer(4);
  append_many(9);
  writer.run_once(audit_);  // 4, 8
  feed(monitor_);
  // Someone rewrites a stored leaf: the proof from 8 to 9 no longer leads to the events' root.
  audit_.tamper_node({0, 8}, infra::sha256("forged"));
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 0u);
  ASSERT_TRUE(monitor_.failure());
  EXPECT_NE(monitor_.failure()->find("checkpoint 8: the events stored do not extend it"),
            std::string::npos)
      << *monitor_.failure();
}

TEST_F(audit_monitor_test, a_checkpoint_of_another_log_or_key_is_reported) {
  append_many(4);
  feed(monitor_);
  test_support::memory_event_store other_events;
  test_support::memory_audit_store other_audit(other_events);
  const infra::response_sealer other_sealer(infra::derive_key("another", "x"));
  const auto other =
      checkpoint_key::load_or_create(other_audit, other_sealer, "keyledger.test/log");
  // The real tree, with a checkpoint signed by another key.
  auto writer = make_writer(1000);
  writer.run_once(audit_);
  domain::audit::checkpoint c{"keyledger.test/log", 4, proofs_.root(audit_, 4).value(), 1};
  infra::stored_checkpoint forged{4, c.root, 1000000, other.sign(c)};
  ASSERT_TRUE(audit_.add_checkpoint(forged));
  EXPECT_EQ(monitor_.check_checkpoints(audit_, proofs_), 0u);
  ASSERT_TRUE(monitor_.failure());
  EXPECT_NE(monitor_.failure()->find("checkpoint 4: not signed by the key"), std::string::npos);
}

}  // namespace
}  // namespace keyledger::services::audit_testing

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

TEST_F(audit_monitor_test, a_tail_removed_after_its_checkpoint_is_reported) {
  auto writer = make_writer(4);
  append_many(8);
  writer.run_once(audit_);  // checkpoints at 4 and 8
  // A node that starts on a log whose last two events are gone: it applies 6, the latest
  // signed size is 8, and the stored log ends at 6 too.
  for (const auto& e : events_.read_all(0, 6)) monitor_.apply(e);
  // The audit tables still say 8; the events table ends at 6.
  class head_at_6 final : public infra::audit_store {
   public:
    explicit head_at_6(infra::audit_store& real) : real_(real) {}
    std::optional<infra::checkpoint_key_row> checkpoint_key() override {
      return real_.checkpoint_key();
    }
    infra::checkpoint_key_row create_checkpoint_key(const infra::checkpoint_key_row& r) override {
      return real_.create_checkpoint_key(r);
    }
    std::uint64_t tree_size() override { return real_.tree_size(); }
    std::uint64_t log_head() override { return 6; }
    std::vector<infra::sha256_digest> nodes(std::span<const infra::tree_node_id> ids) override {
      return real_.nodes(ids);
    }
    std::vector<infra::audit_leaf> leaves(std::uint64_t a, std::size_t l) override {
      return real_.leaves(a, l);
    }
    void extend(const infra::tree_extension& x) override { real_.extend(x); }
    bool add_checkpoint(const infra::stored_checkpoint& c) override {
      return real_.add_checkpoint(c);
    }
    std::vector<infra::stored_checkpoint> checkpoints(std::uint64_t f, std::size_t l) override {
      return real_.checkpoints(f, l);
    }
    std::optional<infra::stored_checkpoint> latest_checkpoint() override {
      return real_.latest_checkpoint();
    }
    std::optional<infra::stored_checkpoint> checkpoint_at(std::uint64_t s) override {
      return real_.checkpoint_at(s);
    }
    std::vector<workspace_event> workspace_events(std::string_view w, std::uint64_t a,
                                                  std::uint64_t u, std::size_t l) override {
      return real_.workspace_events(w, a, u, l);
    }

   private:
    infra::audit_store& real_;
  } store(audit_);
  EXPECT_EQ(monitor_.check_checkpoints(store, proofs_), 0u);
  ASSERT_TRUE(monitor_.failure());
  EXPECT_NE(monitor_.failure()->find("checkpoint 8: the log ends at event 6"), std::string::npos)
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

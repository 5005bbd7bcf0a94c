// The checkpoint signer: the tree extended from the log, checkpoints every N events or T
// seconds (only if the log grew), one per size when two nodes race, the streams' workspaces;
// and the proofs read from the stored tree.
#include "tests/unit/services/app/audit_fixture.hpp"

namespace keyledger::services::audit_testing {
namespace {

namespace audit = domain::audit;

class audit_log_writer_test : public audit_test {};

TEST_F(audit_log_writer_test, the_tree_follows_the_log_and_checkpoints_come_every_n_events) {
  auto writer = make_writer(5);
  append_many(12);
  const auto r = writer.run_once(audit_);
  EXPECT_EQ(r.tree_size, 12u);
  EXPECT_EQ(r.checkpoints, 2u);
  const auto cps = audit_.checkpoints(0, 10);
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps[0].tree_size, 5u);
  EXPECT_EQ(cps[1].tree_size, 10u);
  // Each is signed and names the root of exactly that many events.
  for (const auto& c : cps) {
    auto opened = verifier_.open(c.note);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ(opened->size, c.tree_size);
    EXPECT_EQ(opened->root, c.root);
    audit::compact_range range;
    for (const auto& e : events_.events()) {
      if (e.global_seq > c.tree_size) break;
      range.append(hasher_, hasher_.leaf(e.hash));
    }
    EXPECT_EQ(range.root(hasher_), c.root);
    EXPECT_EQ(opened->origin, "keyledger.test/log");
  }
  // Nothing new: nothing written.
  const auto writes = audit_.extensions();
  EXPECT_EQ(writer.run_once(audit_).checkpoints, 0u);
  EXPECT_EQ(audit_.extensions(), writes);
}

TEST_F(audit_log_writer_test, a_checkpoint_comes_after_t_seconds_only_if_the_log_grew) {
  auto writer = make_writer(1000, 10s);
  append_many(3);
  EXPECT_EQ(writer.run_once(audit_).checkpoints, 0u);  // 3 s since the writer first looked
  clock_.advance(10s);
  EXPECT_EQ(writer.run_once(audit_).checkpoints, 1u);
  EXPECT_EQ(audit_.latest_checkpoint()->tree_size, 3u);
  clock_.advance(60s);
  EXPECT_EQ(writer.run_once(audit_).checkpoints, 0u);  // the log did not grow
  append("api_key-key_x", "ws_a");
  EXPECT_EQ(writer.run_once(audit_).checkpoints, 1u);  // grew, and T passed long ago
  EXPECT_EQ(audit_.latest_checkpoint()->tree_size, 4u);
  append("api_key-key_x", "ws_a");
  EXPECT_EQ(writer.run_once(audit_).checkpoints, 0u);  // grew, but T has not passed
}

TEST_F(audit_log_writer_test, two_nodes_racing_write_one_tree_and_one_checkpoint_per_size) {
  auto first = make_writer(4, 5s);
  auto second = make_writer(4, 5s);
  for (int round = 0; round < 12; ++round) {
    append_many(round % 4 + 1);
    if (round % 3 == 0) clock_.advance(6s);
    (round % 2 == 0 ? first : second).run_once(audit_);
    (round % 2 == 0 ? second : first).run_once(audit_);
  }
  first.run_once(audit_);
  second.run_once(audit_);
  EXPECT_EQ(audit_.tree_size(), events_.head_seq());
  const auto cps = audit_.checkpoints(0, 1000);
  ASSERT_GE(cps.size(), 3u);
  for (std::size_t i = 1; i < cps.size(); ++i) {
    EXPECT_LT(cps[i - 1].tree_size, cps[i].tree_size);
    EXPECT_LE(cps[i - 1].signed_at_us, cps[i].signed_at_us);
  }
  // The stored tree is the log's: every root from it equals one computed from the events.
  audit::compact_range range;
  for (const auto& e : events_.events()) {
    range.append(hasher_, hasher_.leaf(e.hash));
    EXPECT_EQ(proofs_.root(audit_, range.size()).value(), range.root(hasher_));
  }
}

TEST_F(audit_log_writer_test, streams_belong_to_the_workspace_their_first_event_names) {
  auto writer = make_writer();
  append("api_key-key_1", "ws_a");
  append("api_key-key_1", "ws_b");  // a later event cannot move the stream
  append("workspace-ws_c", "ignored");
  append("workspace_members-ws_c", "ignored");
  append("user-usr_1", "ws_a");  // people's accounts belong to no workspace
  append("signing_keys-server", "ws_a");
  append("oauth_client-cli_1", "ws_b");
  writer.run_once(audit_);
  clock_.advance(20s);
  writer.run_once(audit_);
  const auto seqs = [&](const std::string& ws) {
    std::vector<std::uint64_t> out;
    for (const auto& e : audit_.workspace_events(ws, 0, 100, 100))
      out.push_back(e.event.global_seq);
    return out;
  };
  EXPECT_EQ(seqs("ws_a"), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(seqs("ws_b"), (std::vector<std::uint64_t>{7}));
  EXPECT_EQ(seqs("ws_c"), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_TRUE(seqs("ignored").empty());

  infra::audit_leaf bad_json{1, {}, "api_key-key_9", 1, "KeyCreated", "not json"};
  EXPECT_EQ(workspace_of_stream(bad_json), "");
}

TEST_F(audit_log_writer_test, proofs_from_the_stored_tree_verify_and_refuse_what_is_not_there) {
  auto writer = make_writer(7);
  append_many(23);
  writer.run_once(audit_);
  for (std::uint64_t size = 1; size <= 23; ++size) {
    const auto root = proofs_.root(audit_, size).value();
    for (std::uint64_t seq = 1; seq <= size; ++seq) {
      auto p = proofs_.inclusion(audit_, seq, size);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->leaf_hash, hasher_.leaf(events_.events()[seq - 1].hash));
      EXPECT_EQ(audit::verify_inclusion(hasher_, seq - 1, size, p->leaf_hash, p->proof, root),
                audit::proof_verdict::valid);
    }
    for (std::uint64_t from = 1; from <= size; ++from) {
      auto c = proofs_.consistency(audit_, from, size);
      ASSERT_TRUE(c);
      EXPECT_EQ(audit::verify_consistency(hasher_, from, size, c->proof,
                                          proofs_.root(audit_, from).value(), root),
                audit::proof_verdict::valid);
    }
  }
  EXPECT_FALSE(proofs_.inclusion(audit_, 1, 24));
  EXPECT_FALSE(proofs_.inclusion(audit_, 0, 5));
  EXPECT_FALSE(proofs_.inclusion(audit_, 6, 5));
  EXPECT_FALSE(proofs_.consistency(audit_, 0, 5));
  EXPECT_FALSE(proofs_.consistency(audit_, 6, 5));
  EXPECT_FALSE(proofs_.consistency(audit_, 5, 24));
  EXPECT_EQ(proofs_.inclusion(audit_, 1, 24).error().code, "INVALID_FIELD");
}

TEST_F(audit_log_writer_test, a_workspaces_events_come_with_proofs_against_the_latest_checkpoint) {
  auto writer = make_writer(10);
  append_many(25);
  writer.run_once(audit_);  // checkpoints at 10 and 20; 21-25 not signed yet
  const auto page = proofs_.workspace_events(audit_, "ws_b", 0, 3);
  ASSERT_TRUE(page.checkpoint);
  EXPECT_EQ(page.checkpoint->tree_size, 20u);
  ASSERT_EQ(page.events.size(), 3u);
  EXPECT_TRUE(page.more);
  EXPECT_EQ(page.next_after, page.events.back().event.global_seq);
  std::uint64_t seen = 0;
  for (auto after = std::uint64_t{0};;) {
    const auto p = proofs_.workspace_events(audit_, "ws_b", after, 3);
    for (const auto& e : p.events) {
      EXPECT_LE(e.event.global_seq, 20u);
      EXPECT_EQ(audit::verify_inclusion(hasher_, e.event.global_seq - 1, 20,
                                        hasher_.leaf(e.event.hash), e.proof, p.checkpoint->root),
                audit::proof_verdict::valid);
      const auto& all = events_.events();
      EXPECT_EQ(e.previous_hash, e.event.global_seq == 1 ? infra::sha256_digest{}
                                                         : all[e.event.global_seq - 2].hash);
      ++seen;
    }
    if (!p.more) break;
    after = p.next_after;
  }
  EXPECT_EQ(seen, 7u);  // i = 0, 3, ..., 18 of the first 20: ws_b
  // Before any checkpoint nothing is provable.
  test_support::memory_event_store other;
  test_support::memory_audit_store empty(other);
  EXPECT_FALSE(proofs_.workspace_events(empty, "ws_b", 0, 10).checkpoint);
}

}  // namespace
}  // namespace keyledger::services::audit_testing

// The export and the offline verifier: a round trip holds; every kind of tampering with an
// export (or a workspace's events) is found and named; an older checkpoint proves the log only
// grew.
#include "infra/core/event_log/chain.hpp"
#include "infra/json/export_codec.hpp"
#include "infra/json/json.hpp"
#include "tests/unit/services/app/audit_fixture.hpp"

namespace keyledger::services::audit_testing {
namespace {

namespace audit = domain::audit;

class audit_verify_test : public audit_test {
 protected:
  void SetUp() override {
    append_many(23);
    auto writer = make_writer(5);
    writer.run_once(audit_);  // checkpoints at 5, 10, 15, 20
    text_ = export_text();
    lines_ = lines_of(text_);
  }

  /// The index in lines_ of event `seq`.
  std::size_t line_of_event(std::uint64_t seq) const {
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      auto e = infra::parse_export_event_line(lines_[i]);
      if (e && e->global_seq == seq) return i;
    }
    ADD_FAILURE() << "no event " << seq;
    return 0;
  }

  void expect_failure(const std::vector<std::string>& lines, const std::string& named,
                      const audit_verify_options& options = {}) {
    const auto v = verify_text(text_of(lines), options);
    EXPECT_FALSE(v.ok) << v.message;
    EXPECT_NE(v.message.find(named), std::string::npos) << v.message;
  }

  std::string text_;
  std::vector<std::string> lines_;
};

TEST_F(audit_verify_test, an_export_verifies) {
  const auto v = verify_text(text_);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_NE(v.message.find("23 events"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("4 signed checkpoint(s)"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("last 3 event(s) are not signed yet"), std::string::npos);
  // 1 header + 23 events + 4 checkpoints, each checkpoint right after its event.
  ASSERT_EQ(lines_.size(), 28u);
  EXPECT_EQ(infra::kind_of_export_line(lines_[0]), infra::export_line_kind::header);
  EXPECT_EQ(infra::kind_of_export_line(lines_[6]), infra::export_line_kind::checkpoint);
  // The exact stored bytes survive the round trip.
  const auto e = infra::parse_export_event_line(lines_[1]);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->payload, events_.events()[0].payload);
  EXPECT_EQ(e->metadata, events_.events()[0].metadata);
  EXPECT_EQ(infra::format_export_event_line(*e), lines_[1]);
}

TEST_F(audit_verify_test, an_export_since_a_point_verifies_from_there) {
  const auto v = verify_text(export_text(12));
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_NE(v.message.find("seq 13-23"), std::string::npos) << v.message;
  EXPECT_THROW(export_text(24), infra::error);
}

TEST_F(audit_verify_test, an_altered_payload_or_metadata_byte_is_named) {
  auto lines = lines_;
  const auto i = line_of_event(7);
  lines[i].replace(lines[i].find("\"n\\\":7"), 6, "\"n\\\":8");
  expect_failure(lines, "event 7: its hash does not match");
  lines = lines_;
  const auto j = line_of_event(3);
  lines[j].replace(lines[j].find("10.0.0.1"), 8, "10.0.0.2");
  expect_failure(lines, "event 3: its hash does not match");
}

TEST_F(audit_verify_test, an_altered_event_with_its_chain_recomputed_fails_at_the_checkpoint) {
  // Someone rewrites event 7 and every hash after it: the chain holds, the signed root does not.
  auto lines = lines_;
  infra::sha256_digest previous{};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto e = infra::parse_export_event_line(lines[i]);
    if (!e) continue;
    if (e->global_seq == 7) e->payload = R"({"workspace_id":"ws_a","n":"forged"})";
    e->hash = infra::chain_hash(previous, *e);
    previous = e->hash;
    lines[i] = infra::format_export_event_line(*e);
  }
  expect_failure(lines, "checkpoint 10: its signed root is not the root of the events");
}

TEST_F(audit_verify_test, a_deleted_swapped_or_inserted_event_is_named) {
  auto deleted = lines_;
  deleted.erase(deleted.begin() + static_cast<long>(line_of_event(8)));
  expect_failure(deleted, "event 8 is missing");

  auto swapped = lines_;
  std::swap(swapped[line_of_event(8)], swapped[line_of_event(9)]);
  expect_failure(swapped, "event 8 is missing");

  auto inserted = lines_;
  auto copy = infra::parse_export_event_line(lines_[line_of_event(8)]);
  inserted.insert(inserted.begin() + static_cast<long>(line_of_event(8)) + 1,
                  infra::format_export_event_line(*copy));
  expect_failure(inserted, "event 8: out of order");
}

TEST_F(audit_verify_test, a_dropped_tail_is_named_against_the_latest_checkpoint) {
  // The export cut after event 17, with the checkpoint of 20 kept (as an export of a table whose
  // tail was deleted writes it).
  std::vector<std::string> cut(lines_.begin(),
                               lines_.begin() + static_cast<long>(line_of_event(17)) + 1);
  for (const auto& l : lines_) {
    auto c = infra::parse_export_checkpoint_line(l);
    if (c && c->tree_size == 20) cut.push_back(l);
  }
  expect_failure(cut, "checkpoint 20: the export ends at event 17");
  // And with every checkpoint after the cut removed too, the checkpoint the auditor holds.
  std::vector<std::string> bare(lines_.begin(),
                                lines_.begin() + static_cast<long>(line_of_event(17)) + 1);
  audit_verify_options held;
  held.older_checkpoint = audit_.checkpoint_at(20)->note;
  expect_failure(bare, "the export ends at event 17, before the older checkpoint's size 20", held);
}

TEST_F(audit_verify_test, a_forged_or_foreign_checkpoint_is_named) {
  const auto cp = line_of_event(10) + 1;
  ASSERT_EQ(infra::kind_of_export_line(lines_[cp]), infra::export_line_kind::checkpoint);
  // Another size under the same signature.
  auto forged = lines_;
  forged[cp].replace(forged[cp].find("\\n10\\n"), 6, "\\n11\\n");
  expect_failure(forged, "checkpoint 10: the signature of keyledger.test/log does not verify");

  // Signed by another key of the same name.
  test_support::memory_event_store other_events;
  test_support::memory_audit_store other_audit(other_events);
  const infra::response_sealer other_sealer(infra::derive_key("another", "x"));
  const auto other =
      checkpoint_key::load_or_create(other_audit, other_sealer, "keyledger.test/log");
  audit::checkpoint c;
  c.origin = "keyledger.test/log";
  c.size = 10;
  c.root = audit_.checkpoint_at(10)->root;
  c.time = 1;
  auto foreign = lines_;
  foreign[cp] = infra::format_export_checkpoint_line(10, other.sign(c));
  expect_failure(foreign, "checkpoint 10: not signed by the key of keyledger.test/log");
}

TEST_F(audit_verify_test, a_rewritten_and_resigned_log_fails_against_an_older_checkpoint) {
  audit_verify_options held;
  held.older_checkpoint = audit_.checkpoint_at(10)->note;
  EXPECT_TRUE(verify_text(text_, held).ok);
  // The operator (holding the key) rewrites event 4 and re-signs a fresh tree of the same log.
  test_support::memory_event_store rewritten;
  for (const auto& e : events_.events()) {
    auto payload =
        e.global_seq == 4 ? std::string(R"({"workspace_id":"ws_a","n":"gone"})") : e.payload;
    rewritten.append(e.stream_id, e.version - 1, {{e.event_id, e.type, payload}},
                     {"usr_1", "req", "10.0.0.1", ""}, e.recorded_at_us);
  }
  test_support::memory_audit_store resigned(rewritten);
  resigned.create_checkpoint_key(*audit_.checkpoint_key());
  audit_log_writer::options o;
  o.checkpoint_every_events = 5;
  audit_log_writer writer(hasher_, key_, clock_, o);
  writer.run_once(resigned);
  std::ostringstream out;
  export_audit_log(rewritten, resigned, 0, clock_, out, {});
  EXPECT_TRUE(verify_text(out.str()).ok);  // consistent with itself
  const auto v = verify_text(out.str(), held);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("older checkpoint (size 10) is not a prefix"), std::string::npos)
      << v.message;
}

TEST_F(audit_verify_test, a_workspaces_pages_verify_and_tampering_is_named) {
  // The page as GET /v1/audit/events writes it, built from the same answer.
  const auto page_text = [&](const workspace_events_answer& p) {
    infra::json_writer w;
    w.begin_object().field("workspace_id", "ws_b").key("checkpoint").begin_object();
    w.field("tree_size", p.checkpoint->tree_size).field("note", p.checkpoint->note).end_object();
    w.key("events").begin_array();
    for (const auto& e : p.events) {
      const auto hex = [](const infra::sha256_digest& d) {
        return infra::to_hex(std::span<const std::uint8_t>(d.data(), d.size()));
      };
      w.begin_object()
          .field("global_seq", e.event.global_seq)
          .field("stream_id", e.event.stream_id)
          .field("version", e.event.version)
          .field("event_id", infra::format_uuid_text(e.event.event_id))
          .field("type", e.event.type)
          .field("payload", e.event.payload)
          .field("metadata", e.event.metadata)
          .field("recorded_at_us", static_cast<std::int64_t>(e.event.recorded_at_us))
          .field("hash", hex(e.event.hash))
          .field("previous_hash", hex(e.previous_hash));
      w.key("proof").begin_array();
      for (const auto& h : e.proof) w.string(hex(h));
      w.end_array().end_object();
    }
    w.end_array().field("next_after", p.next_after).field("more", p.more).end_object();
    return w.take();
  };
  const auto first = proofs_.workspace_events(audit_, "ws_b", 0, 4);
  const auto second = proofs_.workspace_events(audit_, "ws_b", first.next_after, 4);
  const auto file = page_text(first) + "\n" + page_text(second) + "\n";
  const auto v = verify_text(file);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_NE(v.message.find("7 event(s) of workspace ws_b"), std::string::npos) << v.message;

  auto altered = file;
  altered.replace(altered.find("\\\"n\\\":4"), 7, "\\\"n\\\":5");
  EXPECT_FALSE(verify_text(altered).ok);
  EXPECT_NE(verify_text(altered).message.find("event 4: its hash does not match"),
            std::string::npos);
  // Another workspace's event passed off as this one's: its proof is for its own place.
  auto moved = file;
  moved.replace(moved.find("\"global_seq\":7,"), 15, "\"global_seq\":8,");
  EXPECT_FALSE(verify_text(moved).ok);

  // An older checkpoint, connected by a consistency proof in the same file.
  audit_verify_options held;
  held.older_checkpoint = audit_.checkpoint_at(5)->note;
  EXPECT_FALSE(verify_text(file, held).ok);  // no proof in the file
  const auto proof = proofs_.consistency(audit_, 5, 20).value();
  infra::json_writer w;
  w.begin_object().field("from_size", std::uint64_t{5}).field("to_size", std::uint64_t{20});
  w.key("proof").begin_array();
  for (const auto& h : proof.proof) w.string(infra::to_hex(std::span<const std::uint8_t>(h)));
  w.end_array().end_object();
  const auto with_proof = file + w.take() + "\n";
  const auto held_ok = verify_text(with_proof, held);
  EXPECT_TRUE(held_ok.ok) << held_ok.message;
}

TEST_F(audit_verify_test, garbage_is_refused_with_a_reason) {
  EXPECT_FALSE(verify_text("").ok);
  EXPECT_FALSE(verify_text("not json\n").ok);
  auto lines = lines_;
  lines[3] = R"({"event":{"global_seq":3}})";
  expect_failure(lines, "line 4: not an event line");
  lines = lines_;
  lines.insert(lines.begin() + 2, R"({"something":"else"})");
  expect_failure(lines, "line 3: neither an event nor a checkpoint");
}

}  // namespace
}  // namespace keyledger::services::audit_testing

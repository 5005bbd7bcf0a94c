#include "services/projections/active_key_view.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

infra::sha256_digest digest_of(char fill) {
  infra::sha256_digest d{};
  d.fill(static_cast<std::uint8_t>(fill));
  return d;
}

domain::key_created created(std::string id, char fill, std::vector<std::string> scopes = {}) {
  domain::key_created e;
  e.key_id = std::move(id);
  e.workspace_id = "ws_1";
  e.name = "n";
  e.env = domain::environment::live;
  e.scopes = std::move(scopes);
  e.key_hash = infra::to_hex(digest_of(fill));
  e.start = "kl_live_AbCd";
  return e;
}

infra::recorded_event record(std::uint64_t seq, const domain::api_key_event& e) {
  infra::recorded_event r;
  r.global_seq = seq;
  r.type = std::string(domain::event_type(e));
  r.payload = infra::encode_payload(e);
  return r;
}

TEST(active_key_view, given_a_created_key_when_looked_up_by_its_hash_then_it_is_active) {
  active_key_view view;
  view.apply(record(1, created("key_a", 'a', {"keys:read"})));

  auto entry = view.find(digest_of('a'));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->key_id, "key_a");
  EXPECT_EQ(entry->status, domain::key_status::active);
  EXPECT_TRUE(entry->has_scope("keys:read"));
  EXPECT_FALSE(entry->has_scope("keys:write"));
  EXPECT_EQ(view.find(digest_of('b')), nullptr);
  EXPECT_EQ(view.applied_seq(), 1u);
}

TEST(active_key_view, given_a_revocation_when_applied_then_only_that_key_is_revoked) {
  active_key_view view;
  view.apply(record(1, created("key_a", 'a')));
  view.apply(record(2, created("key_b", 'b')));
  auto before = view.find(digest_of('a'));

  view.apply(record(3, domain::key_revoked{"key_a", {}}));

  EXPECT_EQ(view.find(digest_of('a'))->status, domain::key_status::revoked);
  EXPECT_EQ(view.find(digest_of('b'))->status, domain::key_status::active);
  // A reader holding the old snapshot keeps a consistent (old) entry.
  EXPECT_EQ(before->status, domain::key_status::active);
}

TEST(active_key_view, given_unknown_or_broken_events_then_they_are_skipped_and_seq_advances) {
  active_key_view view;
  infra::recorded_event other;
  other.global_seq = 1;
  other.type = "SomethingElse";
  other.payload = "{}";
  view.apply(other);
  infra::recorded_event broken;
  broken.global_seq = 2;
  broken.type = "KeyCreated";
  broken.payload = "{not json";
  view.apply(broken);

  EXPECT_EQ(view.applied_seq(), 2u);
  EXPECT_EQ(view.key_count(), 0u);
}

TEST(active_key_view, given_a_workspace_event_then_its_prefix_is_known) {
  active_key_view view;
  domain::workspace_event e = domain::workspace_created{"ws_9", "acme", "qg", {}};
  infra::recorded_event r;
  r.global_seq = 1;
  r.type = "WorkspaceCreated";
  r.payload = infra::encode_payload(e);
  view.apply(r);

  auto w = view.find_workspace("ws_9");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->key_prefix, "qg");
  EXPECT_FALSE(view.find_workspace("ws_other").has_value());
}

TEST(active_key_view, wait_applied_returns_when_another_thread_applies_and_times_out_otherwise) {
  active_key_view view;
  EXPECT_FALSE(view.wait_applied(1, std::chrono::steady_clock::now() + 20ms));

  std::thread writer([&] { view.apply(record(1, created("key_a", 'a'))); });
  EXPECT_TRUE(view.wait_applied(1, std::chrono::steady_clock::now() + 10s));
  writer.join();
}

}  // namespace
}  // namespace keyledger::services

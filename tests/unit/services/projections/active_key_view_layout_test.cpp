// The compact layout of the key view (docs/performance.md "A million keys"): interned profiles,
// the position tables, the per-workspace order, and entries that readers hold across changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "infra/json/user_codec.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));
const std::string alice = "usr_a1ice00000000000000000";

infra::sha256_digest digest_of(int n) {
  infra::sha256_digest d{};
  d.fill(0x5a);
  std::memcpy(d.data(), &n, sizeof n);
  return d;
}

domain::key_created created(int n, domain::timestamp at, std::string workspace = "ws_1") {
  domain::key_created e;
  e.key_id = "key_" + std::to_string(100000 + n);
  e.workspace_id = std::move(workspace);
  e.name = "svc-" + std::to_string(n);
  e.env = n % 3 == 0 ? domain::environment::live : domain::environment::test;
  e.scopes = n % 2 == 0 ? std::vector<std::string>{"leads:read"}
                        : std::vector<std::string>{"leads:read", "leads:write"};
  e.key_hash = infra::to_hex(digest_of(n));
  e.start = "qg_live_AbCd";
  e.created_at = at;
  return e;
}

class layout_test : public ::testing::Test {
 protected:
  void apply(const domain::api_key_event& e) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.type = std::string(domain::event_type(e));
    r.payload = infra::encode_payload(e);
    view_.apply(r);
  }
  void member(const domain::member_event& e) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = domain::members_stream_id("ws_1");
    r.type = std::string(domain::event_type(e));
    r.payload = infra::encode_payload(e);
    view_.apply(r);
  }
  std::vector<std::string> all_ids(std::string workspace = "ws_1", std::size_t page = 7) {
    key_query q;
    q.workspace_id = std::move(workspace);
    q.limit = page;
    q.now = t0;
    std::vector<std::string> out;
    for (;;) {
      const auto p = view_.list(q);
      for (const auto& k : p.items) out.emplace_back(k->key_id());
      if (!p.next) break;
      q.after = p.next;
    }
    return out;
  }

  active_key_view view_;
  std::uint64_t seq_ = 0;
};

TEST_F(layout_test, given_many_keys_with_few_settings_then_they_share_few_profiles) {
  for (int n = 0; n < 2'000; ++n)
    apply(created(n, t0 + std::chrono::seconds(n), n % 4 < 2 ? "ws_1" : "ws_2"));
  EXPECT_EQ(view_.key_count(), 2'000u);
  // Two workspaces x two scope sets.
  EXPECT_EQ(view_.profile_count(), 4u);
  const auto a = view_.find(digest_of(4));  // both in ws_1 with one scope
  const auto b = view_.find(digest_of(8));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(&a->profile(), &b->profile());
  EXPECT_EQ(a->key_id(), "key_100004");
  EXPECT_EQ(view_.find_by_id("key_101999")->digest(), digest_of(1999));
  EXPECT_EQ(view_.find(digest_of(5000)), nullptr);
  EXPECT_EQ(view_.find_by_id("key_102000"), nullptr);
}

TEST_F(layout_test, given_many_keys_then_each_is_found_by_hash_and_id_after_growth) {
  for (int n = 0; n < 5'000; ++n) apply(created(n, t0));
  for (int n = 0; n < 5'000; ++n) {
    const auto by_hash = view_.find(digest_of(n));
    ASSERT_TRUE(by_hash) << n;
    EXPECT_EQ(by_hash->key_id(), "key_" + std::to_string(100000 + n));
    EXPECT_EQ(view_.find_by_id(by_hash->key_id()), by_hash);
  }
}

TEST_F(layout_test, given_a_second_creation_of_an_id_then_it_is_skipped_and_nothing_moves) {
  apply(created(1, t0));
  auto again = created(1, t0 + 1s);
  again.key_hash = infra::to_hex(digest_of(2));
  apply(again);
  EXPECT_EQ(view_.key_count(), 1u);
  EXPECT_EQ(view_.find(digest_of(2)), nullptr);
  EXPECT_EQ(all_ids(), (std::vector<std::string>{"key_100001"}));
}

TEST_F(layout_test, given_revoked_and_updated_keys_then_they_keep_their_place_and_tables) {
  for (int n = 0; n < 50; ++n) apply(created(n, t0 + std::chrono::seconds(n), "ws_1"));
  const auto before = all_ids();
  const auto held = view_.find(digest_of(10));  // a reader holds it across the changes
  apply(domain::key_revoked{"key_100010", t0 + 100s});
  domain::key_updated u;
  u.key_id = "key_100020";
  u.updated_at = t0 + 101s;
  u.name = "renamed";
  u.scopes = std::vector<std::string>{"calendar:read"};
  u.postback_url = "https://example.com/hook";
  apply(u);
  EXPECT_EQ(all_ids(), before);
  EXPECT_EQ(view_.key_count(), 50u);
  const auto revoked = view_.find(digest_of(10));
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status_at(t0 + 200s), domain::key_status::revoked);
  EXPECT_EQ(held->status_at(t0 + 200s), domain::key_status::active);  // its snapshot
  EXPECT_EQ(held->key_id(), "key_100010");
  const auto updated = view_.find_by_id("key_100020");
  EXPECT_EQ(updated->name(), "renamed");
  EXPECT_EQ(updated->scopes(), (std::vector<std::string>{"calendar:read"}));
  EXPECT_EQ(updated->postback_url(), "https://example.com/hook");
  EXPECT_EQ(updated->state().updated_at, t0 + 101s);
  EXPECT_EQ(view_.find(digest_of(20)), updated);
}

TEST_F(layout_test, given_keys_in_shuffled_clock_order_then_pages_are_newest_first_and_whole) {
  std::vector<int> order(300);
  for (int i = 0; i < 300; ++i) order[i] = i;
  std::mt19937 random(12);
  std::shuffle(order.begin(), order.end(), random);
  // Every third pair shares an instant: the id breaks the tie.
  for (const int n : order) apply(created(n, t0 + std::chrono::seconds(n / 2)));
  std::vector<std::string> expected;
  for (int n = 299; n >= 0; --n) expected.push_back("key_" + std::to_string(100000 + n));
  EXPECT_EQ(all_ids(), expected);
  EXPECT_EQ(all_ids("ws_1", 100), expected);
  const auto until = view_.key_ids_of("ws_1", t0 + 9s);
  EXPECT_EQ(until, std::vector<std::string>(expected.end() - 20, expected.end()));
}

TEST_F(layout_test, given_a_role_change_then_owned_keys_move_to_one_new_profile) {
  member(domain::member_invited{"ws_1", alice, domain::role::admin, "bootstrap", t0, std::nullopt});
  for (int n = 0; n < 20; ++n) {
    auto e = created(n, t0);
    e.owner_user_id = alice;
    e.scopes = {"leads:read", "keys:write"};
    apply(e);
  }
  EXPECT_EQ(view_.profile_count(), 1u);
  member(domain::member_role_changed{"ws_1", alice, domain::role::admin, domain::role::auditor,
                                     alice, t0 + 1s});
  EXPECT_EQ(view_.profile_count(), 2u);
  for (int n = 0; n < 20; ++n) {
    const auto k = view_.find(digest_of(n));
    EXPECT_EQ(k->owner_role(), domain::role::auditor);
    EXPECT_EQ(&k->profile(), &view_.find(digest_of(0))->profile());
  }
}

}  // namespace
}  // namespace keyledger::services

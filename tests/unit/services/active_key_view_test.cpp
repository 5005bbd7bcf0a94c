#include "services/projections/active_key_view.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

infra::sha256_digest digest_of(int n) {
  infra::sha256_digest d{};
  d.fill(static_cast<std::uint8_t>(n));
  d[31] = static_cast<std::uint8_t>(n >> 8);
  return d;
}

domain::key_created created(std::string id, int hash, domain::timestamp at = t0,
                            std::string workspace = "ws_1") {
  domain::key_created e;
  e.key_id = std::move(id);
  e.workspace_id = std::move(workspace);
  e.name = "Key " + e.key_id;
  e.env = domain::environment::live;
  e.scopes = {"leads:read"};
  e.key_hash = infra::to_hex(digest_of(hash));
  e.start = "qg_live_AbCd";
  e.created_at = at;
  e.expires_at = at + std::chrono::days(90);
  return e;
}

class view_test : public ::testing::Test {
 protected:
  void apply(const domain::api_key_event& e) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.type = std::string(domain::event_type(e));
    r.payload = infra::encode_payload(e);
    view_.apply(r);
  }
  void apply_raw(std::string type, std::string payload) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.type = std::move(type);
    r.payload = std::move(payload);
    view_.apply(r);
  }
  void workspace(std::string id, std::string prefix, domain::key_policy policy = {}) {
    domain::workspace_created w{id, "name-" + id, std::move(prefix), t0, policy};
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.type = "WorkspaceCreated";
    r.payload = infra::encode_payload(domain::workspace_event{w});
    view_.apply(r);
  }
  std::vector<std::string> ids(const key_page& page) {
    std::vector<std::string> out;
    for (const auto& k : page.items) out.push_back(k->key_id());
    return out;
  }
  key_query query(std::size_t limit = 50) {
    key_query q;
    q.workspace_id = "ws_1";
    q.limit = limit;
    q.now = t0;
    return q;
  }

  active_key_view view_;
  std::uint64_t seq_ = 0;
};

TEST_F(view_test, given_a_created_key_then_it_is_found_by_hash_and_id_with_its_settings) {
  auto e = created("key_a", 1);
  e.allowed_cidrs = {"10.0.0.0/8", "2001:db8::/32"};
  e.limit = domain::rate_limit{10, 60};
  e.off_the_record = true;
  apply(e);

  auto entry = view_.find(digest_of(1));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->key_id(), "key_a");
  EXPECT_EQ(entry->workspace_id(), "ws_1");
  EXPECT_EQ(entry->state.name, "Key key_a");
  EXPECT_EQ(entry->state.start, "qg_live_AbCd");
  EXPECT_EQ(entry->state.expires_at, t0 + std::chrono::days(90));
  EXPECT_TRUE(entry->state.off_the_record);
  EXPECT_EQ(entry->state.limit, (domain::rate_limit{10, 60}));
  EXPECT_EQ(entry->status_at(t0), domain::key_status::active);
  EXPECT_TRUE(entry->has_scope("leads:read"));
  EXPECT_FALSE(entry->has_scope("leads:write"));
  ASSERT_EQ(entry->allowed_cidrs.size(), 2u);
  EXPECT_EQ(entry->allowed_cidrs[0], *domain::parse_cidr("10.0.0.0/8"));
  EXPECT_EQ(entry->allowed_cidrs[1], *domain::parse_cidr("2001:db8::/32"));

  EXPECT_EQ(view_.find_by_id("key_a"), entry);
  EXPECT_EQ(view_.find(digest_of(2)), nullptr);
  EXPECT_EQ(view_.find_by_id("key_b"), nullptr);
  EXPECT_EQ(view_.key_count(), 1u);
  EXPECT_EQ(view_.applied_seq(), 1u);
}

TEST_F(view_test, given_every_lifecycle_event_then_the_entry_follows_and_old_snapshots_stay) {
  apply(created("key_a", 1));
  const auto original = view_.find_by_id("key_a");

  domain::key_updated u;
  u.key_id = "key_a";
  u.name = "Renamed";
  u.scopes = std::vector<std::string>{"billing:read"};
  u.allowed_cidrs = std::vector<std::string>{"192.0.2.0/24"};
  u.postback_url = "https://example.com/hook";
  u.limit = std::optional<domain::rate_limit>(domain::rate_limit{5, 10});
  u.updated_at = t0 + 1s;
  apply(u);
  auto now = view_.find(digest_of(1));
  EXPECT_EQ(now->state.name, "Renamed");
  EXPECT_TRUE(now->has_scope("billing:read"));
  EXPECT_FALSE(now->has_scope("leads:read"));
  ASSERT_EQ(now->allowed_cidrs.size(), 1u);
  EXPECT_TRUE(now->allowed_cidrs[0].contains(*domain::parse_ip("192.0.2.99")));
  EXPECT_EQ(now->state.postback_url, "https://example.com/hook");
  EXPECT_EQ(now->state.limit, (domain::rate_limit{5, 10}));
  EXPECT_EQ(now->state.updated_at, t0 + 1s);

  apply(domain::key_disabled{"key_a", t0 + 2s});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0 + 2s), domain::key_status::disabled);
  apply(domain::key_enabled{"key_a", t0 + 3s});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0 + 3s), domain::key_status::active);

  apply(domain::key_expiry_approaching{"key_a", t0 + std::chrono::days(90)});
  EXPECT_EQ(view_.find_by_id("key_a")->state.expiry_warned_for, t0 + std::chrono::days(90));
  apply(domain::key_expired{"key_a", t0 + std::chrono::days(90)});
  EXPECT_TRUE(view_.find_by_id("key_a")->state.expiry_recorded);

  apply(domain::key_revoked{"key_a", t0 + 4s});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0 + 4s), domain::key_status::revoked);
  EXPECT_EQ(view_.find_by_id("key_a")->state.revoked_at, t0 + 4s);

  // A reader holding the first snapshot still sees it whole.
  EXPECT_EQ(original->state.name, "Key key_a");
  EXPECT_EQ(original->status_at(t0 + 4s), domain::key_status::active);
  EXPECT_EQ(view_.key_count(), 1u);
}

TEST_F(view_test, given_a_rotation_then_both_keys_are_linked_and_the_old_one_expires_at_grace) {
  apply(created("key_old", 1));
  auto fresh = created("key_new", 2, t0 + 10s);
  fresh.rotated_from = "key_old";
  apply(domain::key_rotated{"key_old", "key_new", t0 + 10s, t0 + 10s + 24h});
  apply(fresh);

  const auto old_key = view_.find(digest_of(1));
  const auto new_key = view_.find(digest_of(2));
  ASSERT_NE(old_key, nullptr);
  ASSERT_NE(new_key, nullptr);
  EXPECT_EQ(old_key->state.rotated_to, "key_new");
  EXPECT_EQ(new_key->state.rotated_from, "key_old");
  EXPECT_EQ(old_key->state.expires_at, t0 + 10s + 24h);
  EXPECT_EQ(old_key->status_at(t0 + 10s + 24h - 1us), domain::key_status::active);
  EXPECT_EQ(old_key->status_at(t0 + 10s + 24h), domain::key_status::expired);
}

TEST_F(view_test, given_unknown_or_broken_events_then_they_are_skipped_and_seq_advances) {
  apply_raw("SomethingElse", "{}");
  apply_raw("KeyCreated", "{not json");
  apply_raw("KeyRevoked", R"({"key_id":"key_a"})");  // a required member missing
  apply_raw("WorkspaceCreated", "[]");
  EXPECT_EQ(view_.key_count(), 0u);
  EXPECT_EQ(view_.applied_seq(), 4u);

  // Events of a key that was never created, and a second creation, change nothing.
  apply(domain::key_revoked{"key_ghost", t0});
  EXPECT_EQ(view_.find_by_id("key_ghost"), nullptr);
  apply(created("key_a", 1));
  apply(created("key_a", 2));
  EXPECT_EQ(view_.find(digest_of(2)), nullptr);
  EXPECT_NE(view_.find(digest_of(1)), nullptr);

  // A hash that is not 64 hex characters cannot be probed: the key is skipped.
  auto bad_hash = created("key_b", 3);
  bad_hash.key_hash = "xyz";
  apply(bad_hash);
  EXPECT_EQ(view_.find_by_id("key_b"), nullptr);
  EXPECT_EQ(view_.key_count(), 1u);
  EXPECT_EQ(view_.applied_seq(), 8u);

  // The view keeps working after all that.
  apply(domain::key_revoked{"key_a", t0});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0), domain::key_status::revoked);
}

TEST_F(view_test, given_an_unreadable_cidr_then_the_event_is_skipped_rather_than_widened) {
  auto e = created("key_a", 1);
  e.allowed_cidrs = {"10.0.0.0/8", "not-a-network"};
  apply(e);
  // Dropping the bad entry would leave a narrower list; dropping the whole list would allow
  // every address. Neither: the key is not served at all.
  EXPECT_EQ(view_.find(digest_of(1)), nullptr);
}

TEST_F(view_test, given_workspaces_then_a_prefix_names_its_workspace_only_when_unique) {
  workspace("ws_1", "qg");
  workspace("ws_2", "ab");
  workspace("ws_3", "ab");
  EXPECT_EQ(view_.workspace_for_prefix("qg"), "ws_1");
  EXPECT_EQ(view_.workspace_for_prefix("ab"), std::nullopt);
  EXPECT_EQ(view_.workspace_for_prefix("zz"), std::nullopt);
  EXPECT_EQ(view_.workspace_for_prefix(""), std::nullopt);

  domain::key_policy strict;
  strict.default_lifespan = std::chrono::days(30);
  strict.names_allow_spaces = false;
  workspace("ws_4", "st", strict);
  const auto w = view_.find_workspace("ws_4");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->key_prefix, "st");
  EXPECT_EQ(w->name, "name-ws_4");
  EXPECT_EQ(w->policy, strict);
  EXPECT_FALSE(view_.find_workspace("ws_9").has_value());
}

TEST_F(view_test, given_keys_then_the_list_is_newest_first_and_pages_through_cursors) {
  // Two keys share a creation instant: the id breaks the tie, so no key is skipped or repeated.
  apply(created("key_1", 1, t0 + 1s));
  apply(created("key_2", 2, t0 + 2s));
  apply(created("key_3", 3, t0 + 3s));
  apply(created("key_4", 4, t0 + 3s));
  apply(created("key_5", 5, t0 + 5s));
  apply(created("key_x", 6, t0 + 9s, "ws_other"));

  auto q = query(2);
  auto page = view_.list(q);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"key_5", "key_4"}));
  ASSERT_TRUE(page.next.has_value());

  std::vector<std::string> all = ids(page);
  while (page.next) {
    const std::string text = encode_cursor(*page.next);
    const auto back = decode_cursor(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, *page.next);
    q.after = back;
    page = view_.list(q);
    for (auto& id : ids(page)) all.push_back(id);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"key_5", "key_4", "key_3", "key_2", "key_1"}));

  // A last page that is exactly full says no more follow.
  q.after.reset();
  q.limit = 5;
  EXPECT_FALSE(view_.list(q).next.has_value());
  q.limit = 0;  // clamped to 1
  EXPECT_EQ(view_.list(q).items.size(), 1u);
  q.limit = 1000;  // clamped to 100
  EXPECT_EQ(view_.list(q).items.size(), 5u);

  q.workspace_id = "ws_none";
  EXPECT_TRUE(view_.list(q).items.empty());
}

TEST_F(view_test, given_filters_then_only_matching_keys_are_listed) {
  auto a = created("key_a", 1, t0 + 1s);
  a.name = "Billing Service";
  auto b = created("key_b", 2, t0 + 2s);
  b.name = "billing-worker";
  b.env = domain::environment::test;
  auto c = created("key_c", 3, t0 + 3s);
  c.name = "Reports";
  auto d = created("key_d", 4, t0 + 4s);
  d.name = "old billing";
  d.expires_at = t0 + 10s;
  for (const auto& e : {a, b, c, d}) apply(e);
  apply(domain::key_revoked{"key_c", t0 + 5s});
  apply(domain::key_disabled{"key_a", t0 + 6s});

  auto q = query();
  q.now = t0 + 20s;
  q.name_contains = "BILLING";
  EXPECT_EQ(ids(view_.list(q)), (std::vector<std::string>{"key_d", "key_b", "key_a"}));
  q.env = domain::environment::live;
  EXPECT_EQ(ids(view_.list(q)), (std::vector<std::string>{"key_d", "key_a"}));
  q.status = domain::key_status::expired;
  EXPECT_EQ(ids(view_.list(q)), (std::vector<std::string>{"key_d"}));
  q.status = domain::key_status::disabled;
  EXPECT_EQ(ids(view_.list(q)), (std::vector<std::string>{"key_a"}));

  auto r = query();
  r.now = t0 + 20s;
  r.status = domain::key_status::revoked;
  EXPECT_EQ(ids(view_.list(r)), (std::vector<std::string>{"key_c"}));
  r.status = domain::key_status::active;
  EXPECT_EQ(ids(view_.list(r)), (std::vector<std::string>{"key_b"}));
  // Status is evaluated at `now`: before its expiry key_d was active.
  r.now = t0 + 9s;
  EXPECT_EQ(ids(view_.list(r)), (std::vector<std::string>{"key_d", "key_b"}));

  // With a filter, a full page is followed by a cursor only if another match exists.
  auto f = query(1);
  f.now = t0 + 20s;
  f.name_contains = "reports";
  const auto page = view_.list(f);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"key_c"}));
  EXPECT_FALSE(page.next.has_value());
}

TEST(list_cursor, given_text_not_made_by_encode_then_it_is_refused) {
  const list_cursor c{t0 + 123456us, "key_ABCdef0123456789abcd"};
  const std::string text = encode_cursor(c);
  EXPECT_EQ(decode_cursor(text), c);
  for (char ch : text) {
    EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '_')
        << text;
  }

  EXPECT_EQ(decode_cursor(""), std::nullopt);
  EXPECT_EQ(decode_cursor("!!!!"), std::nullopt);
  EXPECT_EQ(decode_cursor("a"), std::nullopt);
  EXPECT_EQ(decode_cursor(std::string(10'000, 'A')), std::nullopt);
  EXPECT_EQ(decode_cursor(text + "="), std::nullopt);
  EXPECT_EQ(decode_cursor(text.substr(0, text.size() - 1)), std::nullopt);
  // Well-formed base64url of the wrong content.
  const auto b64 = [](std::string_view raw) {
    static constexpr std::string_view abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char ch : raw) {
      acc = (acc << 8) | ch;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += abc[(acc >> bits) & 63];
      }
    }
    if (bits > 0) out += abc[(acc << (6 - bits)) & 63];
    return out;
  };
  EXPECT_EQ(decode_cursor(b64("123.key_a")), (list_cursor{domain::timestamp(123us), "key_a"}));
  EXPECT_EQ(decode_cursor(b64("no-dot")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64(".key_a")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64("12x.key_a")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64("+12.key_a")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64("012.key_a")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64("12.")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64("12.key a")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64("99999999999999999999999.key_a")), std::nullopt);
  EXPECT_EQ(decode_cursor(b64(std::string("12.key\0a", 8))), std::nullopt);

  const list_cursor negative{domain::timestamp(-5us), "key_z"};
  EXPECT_EQ(decode_cursor(encode_cursor(negative)), negative);
}

TEST_F(view_test, given_expiries_then_expiry_due_lists_what_the_job_must_record_soonest_first) {
  const domain::timestamp now = t0 + std::chrono::days(100);
  auto make = [&](std::string id, int hash, std::optional<domain::timestamp> expires) {
    auto e = created(std::move(id), hash);
    e.expires_at = expires;
    apply(e);
  };
  make("key_expired", 1, now - 1h);                    // KeyExpired due
  make("key_at_now", 2, now);                          // due from the exact instant
  make("key_recorded", 3, now - 2h);                   // already recorded
  make("key_revoked", 4, now - 3h);                    // revoked: nothing to record
  make("key_soon", 5, now + std::chrono::days(13));    // warning due
  make("key_warned", 6, now + std::chrono::days(12));  // already warned for this expiry
  make("key_far", 7, now + std::chrono::days(15));     // not yet
  make("key_never", 8, std::nullopt);                  // never expires
  make("key_edge", 9, now + std::chrono::days(14));    // warning due from exactly 14 days
  apply(domain::key_expired{"key_recorded", now - 2h});
  apply(domain::key_revoked{"key_revoked", t0});
  apply(domain::key_expiry_approaching{"key_warned", now + std::chrono::days(12)});

  EXPECT_EQ(view_.expiry_due(now, 100),
            (std::vector<std::string>{"key_expired", "key_at_now", "key_soon", "key_edge"}));
  EXPECT_EQ(view_.expiry_due(now, 2), (std::vector<std::string>{"key_expired", "key_at_now"}));
  EXPECT_TRUE(view_.expiry_due(now, 0).empty());

  // Once warned, a key comes back when it expires, for KeyExpired.
  apply(domain::key_expiry_approaching{"key_soon", now + std::chrono::days(13)});
  EXPECT_EQ(view_.expiry_due(now, 100),
            (std::vector<std::string>{"key_expired", "key_at_now", "key_edge"}));
  const auto later = now + std::chrono::days(13);
  const auto due_later = view_.expiry_due(later, 100);
  EXPECT_NE(std::find(due_later.begin(), due_later.end(), "key_soon"), due_later.end());
}

TEST_F(view_test, given_a_waiter_then_it_wakes_when_its_event_is_applied) {
  EXPECT_FALSE(view_.wait_applied(1, std::chrono::steady_clock::now()));
  std::thread writer([&] {
    for (int i = 1; i <= 3; ++i) apply(created("key_" + std::to_string(i), i));
  });
  EXPECT_TRUE(view_.wait_applied(3, std::chrono::steady_clock::now() + 10s));
  writer.join();
  EXPECT_GE(view_.applied_seq(), 3u);
  EXPECT_EQ(view_.key_count(), 3u);
}

}  // namespace
}  // namespace keyledger::services

#include "services/projections/active_key_view.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "infra/json/user_codec.hpp"

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
  void workspace(std::string id, std::string prefix, domain::key_policy policy = {},
                 std::vector<std::string> catalog = {}) {
    domain::workspace_created w{id, "name-" + id, std::move(prefix),
                                t0, policy,       std::move(catalog)};
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = domain::workspace_stream_id(id);
    r.type = "WorkspaceCreated";
    r.payload = infra::encode_payload(domain::workspace_event{w});
    view_.apply(r);
  }
  void settings(const domain::workspace_settings_changed& e) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = domain::workspace_stream_id(e.workspace_id);
    r.type = "WorkspaceSettingsChanged";
    r.payload = infra::encode_payload(domain::workspace_event{e});
    view_.apply(r);
  }
  // A membership event in its workspace's stream (or in `stream` if given).
  void member(const domain::member_event& e, std::string stream = {}) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = stream.empty() ? domain::members_stream_id(std::visit(
                                       [](const auto& alt) { return alt.workspace_id; }, e))
                                 : std::move(stream);
    r.type = std::string(domain::event_type(e));
    r.payload = infra::encode_payload(e);
    view_.apply(r);
  }
  std::vector<std::string> ids(const key_page& page) {
    std::vector<std::string> out;
    for (const auto& k : page.items) out.emplace_back(k->key_id());
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
  EXPECT_EQ(entry->state().name, "Key key_a");
  EXPECT_EQ(entry->state().start, "qg_live_AbCd");
  EXPECT_EQ(entry->state().expires_at, t0 + std::chrono::days(90));
  EXPECT_TRUE(entry->state().off_the_record);
  EXPECT_EQ(entry->state().limit, (domain::rate_limit{10, 60}));
  EXPECT_EQ(entry->status_at(t0), domain::key_status::active);
  EXPECT_TRUE(entry->has_scope("leads:read"));
  EXPECT_FALSE(entry->has_scope("leads:write"));
  ASSERT_EQ(entry->allowed_cidrs().size(), 2u);
  EXPECT_EQ(entry->allowed_cidrs()[0], *domain::parse_cidr("10.0.0.0/8"));
  EXPECT_EQ(entry->allowed_cidrs()[1], *domain::parse_cidr("2001:db8::/32"));

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
  EXPECT_EQ(now->state().name, "Renamed");
  EXPECT_TRUE(now->has_scope("billing:read"));
  EXPECT_FALSE(now->has_scope("leads:read"));
  ASSERT_EQ(now->allowed_cidrs().size(), 1u);
  EXPECT_TRUE(now->allowed_cidrs()[0].contains(*domain::parse_ip("192.0.2.99")));
  EXPECT_EQ(now->state().postback_url, "https://example.com/hook");
  EXPECT_EQ(now->state().limit, (domain::rate_limit{5, 10}));
  EXPECT_EQ(now->state().updated_at, t0 + 1s);

  apply(domain::key_disabled{"key_a", t0 + 2s});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0 + 2s), domain::key_status::disabled);
  apply(domain::key_enabled{"key_a", t0 + 3s});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0 + 3s), domain::key_status::active);

  apply(domain::key_expiry_approaching{"key_a", t0 + std::chrono::days(90)});
  EXPECT_EQ(view_.find_by_id("key_a")->state().expiry_warned_for, t0 + std::chrono::days(90));
  apply(domain::key_expired{"key_a", t0 + std::chrono::days(90)});
  EXPECT_TRUE(view_.find_by_id("key_a")->state().expiry_recorded);

  apply(domain::key_revoked{"key_a", t0 + 4s});
  EXPECT_EQ(view_.find(digest_of(1))->status_at(t0 + 4s), domain::key_status::revoked);
  EXPECT_EQ(view_.find_by_id("key_a")->state().revoked_at, t0 + 4s);

  // A reader holding the first snapshot still sees it whole.
  EXPECT_EQ(original->state().name, "Key key_a");
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
  EXPECT_EQ(old_key->state().rotated_to, "key_new");
  EXPECT_EQ(new_key->state().rotated_from, "key_old");
  EXPECT_EQ(old_key->state().expires_at, t0 + 10s + 24h);
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

TEST_F(view_test, given_keys_created_out_of_clock_order_then_the_list_is_still_newest_first) {
  // Keys arrive in log order; a node with a slower clock may log a key "older" than the newest.
  // The insertion hint (the newest position) is then wrong and must not misplace the key.
  apply(created("key_b", 1, t0 + 5s));
  apply(created("key_a", 2, t0 + 1s));  // older than the newest, appended later
  apply(created("key_d", 3, t0 + 9s));
  apply(created("key_c", 4, t0 + 5s));  // same instant as key_b: the id breaks the tie
  apply(created("key_e", 5, t0 + 7s));
  EXPECT_EQ(ids(view_.list(query())),
            (std::vector<std::string>{"key_d", "key_e", "key_c", "key_b", "key_a"}));
  auto q = query(2);
  q.after = list_cursor{t0 + 5s, "key_c"};
  EXPECT_EQ(ids(view_.list(q)), (std::vector<std::string>{"key_b", "key_a"}));
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

// ---- users and roles: effective scopes follow the owner's role and the catalog --------------

const std::string alice = "usr_a1ice00000000000000000";
const std::string bob = "usr_b0b0000000000000000000";
const std::vector<std::string> catalog = {"leads:read", "leads:write", "calendar:read"};

domain::member_invited invited(const std::string& user, domain::role role,
                               std::string workspace = "ws_1") {
  return {std::move(workspace), user, role, "bootstrap", t0, std::nullopt};
}
domain::member_role_changed role_changed(const std::string& user, domain::role from,
                                         domain::role to, std::string workspace = "ws_1") {
  return {std::move(workspace), user, from, to, bob, t0 + 1s};
}
domain::member_removed removed(const std::string& user, std::string workspace = "ws_1") {
  return {std::move(workspace), user, bob, t0 + 2s};
}

// A key owned by `owner` with catalog and management scopes.
domain::key_created owned(std::string id, int hash, const std::string& owner,
                          std::string workspace = "ws_1") {
  auto e = created(std::move(id), hash, t0, std::move(workspace));
  e.owner_user_id = owner;
  e.scopes = {"leads:read", "leads:write", "keys:read",
              "keys:write", "users:write", "workspace:admin"};
  return e;
}

using scopes = std::vector<std::string>;

class owner_view_test : public view_test {
 protected:
  void SetUp() override {
    workspace("ws_1", "qg", {}, catalog);
    member(invited(alice, domain::role::admin));
  }
};

TEST_F(owner_view_test, given_an_admin_owner_then_the_key_has_all_its_scopes) {
  apply(owned("key_a", 1, alice));
  const auto k = view_.find(digest_of(1));
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->effective_scopes(), k->state().scopes);
  EXPECT_EQ(k->owner_role(), domain::role::admin);
  EXPECT_FALSE(k->owner_removed());
  EXPECT_TRUE(k->has_scope("users:write"));
  EXPECT_TRUE(k->has_scope("workspace:admin"));
  EXPECT_EQ(k->status_at(t0), domain::key_status::active);
}

TEST_F(owner_view_test, a_role_change_republishes_only_that_owners_keys) {
  // Given keys of two owners interleaved in one workspace, and keys of alice in another
  workspace("ws_2", "qh", {}, catalog);
  member(invited(alice, domain::role::admin, "ws_2"));
  member(invited(bob, domain::role::admin));
  apply(owned("key_a1", 1, alice));
  apply(owned("key_b1", 2, bob));
  apply(owned("key_a2", 3, alice));
  apply(owned("key_x", 4, alice, "ws_2"));
  const auto bob_before = view_.find(digest_of(2));
  const auto other_before = view_.find(digest_of(4));
  // When alice is demoted in ws_1
  member(role_changed(alice, domain::role::admin, domain::role::member));
  // Then both of her keys there follow, and nobody else's entry is republished
  EXPECT_EQ(view_.find(digest_of(1))->owner_role(), domain::role::member);
  EXPECT_EQ(view_.find(digest_of(3))->owner_role(), domain::role::member);
  EXPECT_EQ(view_.find(digest_of(2)), bob_before);
  EXPECT_EQ(view_.find(digest_of(4)), other_before);
  // And a member who owns no key changes nothing when invited
  const auto a1 = view_.find(digest_of(1));
  member(invited("usr_c0000000000000000000000", domain::role::member));
  EXPECT_EQ(view_.find(digest_of(1)), a1);
}

TEST_F(owner_view_test, keys_created_after_a_role_or_catalog_change_are_resolved_anew) {
  // Given a key resolved (and its profile remembered) while alice is an admin
  apply(owned("key_a", 1, alice));
  EXPECT_TRUE(view_.find(digest_of(1))->has_scope("users:write"));
  // When she is demoted, a key with the same declared parts gets a member's reach
  member(role_changed(alice, domain::role::admin, domain::role::member));
  apply(owned("key_b", 2, alice));
  const auto b = view_.find(digest_of(2));
  EXPECT_EQ(b->effective_scopes(),
            (scopes{"leads:read", "leads:write", "keys:read", "keys:write"}));
  EXPECT_EQ(b->owner_role(), domain::role::member);
  // and shares the republished key's profile
  EXPECT_EQ(&b->profile(), &view_.find(digest_of(1))->profile());
  // When the catalog narrows, the next such key gets the narrower reach
  domain::workspace_settings_changed narrower;
  narrower.workspace_id = "ws_1";
  narrower.scope_catalog = std::vector<std::string>{"leads:read"};
  narrower.changed_by = bob;
  narrower.changed_at = t0 + 3s;
  settings(narrower);
  apply(owned("key_c", 3, alice));
  EXPECT_EQ(view_.find(digest_of(3))->effective_scopes(),
            (scopes{"leads:read", "keys:read", "keys:write"}));
  EXPECT_EQ(view_.find(digest_of(3))->effective_scopes(),
            view_.find(digest_of(1))->effective_scopes());
  // When she is removed, a new key of hers is disabled at once
  member(removed(alice));
  apply(owned("key_d", 4, alice));
  EXPECT_TRUE(view_.find(digest_of(4))->owner_removed());
  EXPECT_EQ(view_.find(digest_of(4))->status_at(t0), domain::key_status::disabled);
  // And the owner's key count covers keys created from remembered profiles: a reinvitation
  // republishes all four
  member(invited(alice, domain::role::admin));
  for (int n = 1; n <= 4; ++n) {
    EXPECT_EQ(view_.find(digest_of(n))->owner_role(), domain::role::admin) << n;
    EXPECT_FALSE(view_.find(digest_of(n))->owner_removed()) << n;
  }
  EXPECT_EQ(view_.list(query()).items.size(), 4u);
}

TEST_F(owner_view_test, a_demotion_narrows_the_effective_scopes_at_once) {
  // Given an admin's key with management scopes
  apply(owned("key_a", 1, alice));
  const auto before = view_.find(digest_of(1));
  // When the owner is demoted to member
  member(role_changed(alice, domain::role::admin, domain::role::member));
  // Then the very next lookup sees only what a member may have
  const auto after = view_.find(digest_of(1));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->effective_scopes(),
            (scopes{"leads:read", "leads:write", "keys:read", "keys:write"}));
  EXPECT_FALSE(after->has_scope("users:write"));
  EXPECT_FALSE(after->has_scope("workspace:admin"));
  EXPECT_TRUE(after->has_scope("keys:write"));
  EXPECT_EQ(after->owner_role(), domain::role::member);
  EXPECT_EQ(after->status_at(t0), domain::key_status::active);
  // The key's own scopes are untouched (they come back if the role does)
  EXPECT_EQ(after->state().scopes, before->state().scopes);
  // Every index serves the new entry
  EXPECT_EQ(view_.find_by_id("key_a"), after);
  EXPECT_EQ(view_.list(query()).items.front(), after);
  // A reader holding the old snapshot still sees it whole
  EXPECT_TRUE(before->has_scope("users:write"));
  EXPECT_EQ(before->owner_role(), domain::role::admin);

  // An auditor keeps reads only
  member(role_changed(alice, domain::role::member, domain::role::auditor));
  EXPECT_EQ(view_.find(digest_of(1))->effective_scopes(), (scopes{"leads:read", "keys:read"}));
  // Promoted back, the key has everything again
  member(role_changed(alice, domain::role::auditor, domain::role::owner));
  EXPECT_EQ(view_.find(digest_of(1))->effective_scopes(), before->state().scopes);
  EXPECT_EQ(view_.find(digest_of(1))->owner_role(), domain::role::owner);
}

TEST_F(owner_view_test, a_removal_disables_the_owners_keys_and_a_reinvitation_restores_them) {
  apply(owned("key_a", 1, alice));
  auto revoked = owned("key_r", 2, alice);
  apply(revoked);
  apply(domain::key_revoked{"key_r", t0 + 1s});

  member(removed(alice));
  const auto k = view_.find(digest_of(1));
  EXPECT_TRUE(k->owner_removed());
  EXPECT_FALSE(k->owner_role().has_value());
  EXPECT_TRUE(k->effective_scopes().empty());
  EXPECT_FALSE(k->has_scope("leads:read"));
  EXPECT_EQ(k->status_at(t0 + 3s), domain::key_status::disabled);
  EXPECT_EQ(k->state().status_at(t0 + 3s), domain::key_status::active);  // no key event needed
  // Revoked stays revoked (status precedence), and the disabled filter finds the removed one
  EXPECT_EQ(view_.find(digest_of(2))->status_at(t0 + 3s), domain::key_status::revoked);
  auto q = query();
  q.now = t0 + 3s;
  q.status = domain::key_status::disabled;
  EXPECT_EQ(ids(view_.list(q)), (std::vector<std::string>{"key_a"}));

  // Invited again as a member: the key works again, with a member's reach
  member(invited(alice, domain::role::member));
  const auto back = view_.find(digest_of(1));
  EXPECT_FALSE(back->owner_removed());
  EXPECT_EQ(back->owner_role(), domain::role::member);
  EXPECT_EQ(back->status_at(t0 + 3s), domain::key_status::active);
  EXPECT_EQ(back->effective_scopes(),
            (scopes{"leads:read", "leads:write", "keys:read", "keys:write"}));
  q.status = domain::key_status::disabled;
  EXPECT_TRUE(view_.list(q).items.empty());
}

TEST_F(owner_view_test, a_disabled_key_whose_owner_is_removed_stays_disabled_after_reinvitation) {
  apply(owned("key_a", 1, alice));
  apply(domain::key_disabled{"key_a", t0 + 1s});
  member(removed(alice));
  member(invited(alice, domain::role::admin));
  const auto k = view_.find(digest_of(1));
  EXPECT_FALSE(k->owner_removed());
  EXPECT_EQ(k->status_at(t0 + 3s), domain::key_status::disabled);  // its own KeyDisabled
}

TEST_F(owner_view_test, only_the_affected_owners_keys_in_that_workspace_change) {
  workspace("ws_2", "zz", {}, catalog);
  member(invited(bob, domain::role::admin));
  member(invited(alice, domain::role::owner, "ws_2"));
  apply(owned("key_alice_1", 1, alice));
  apply(owned("key_bob_1", 2, bob));
  apply(owned("key_alice_2", 3, alice, "ws_2"));
  apply(created("key_legacy", 4));
  const auto bob_before = view_.find(digest_of(2));
  const auto alice_ws2_before = view_.find(digest_of(3));
  const auto legacy_before = view_.find(digest_of(4));

  member(removed(alice));  // from ws_1 only

  EXPECT_TRUE(view_.find(digest_of(1))->owner_removed());
  // Nothing else was even republished
  EXPECT_EQ(view_.find(digest_of(2)), bob_before);
  EXPECT_EQ(view_.find(digest_of(3)), alice_ws2_before);
  EXPECT_EQ(view_.find(digest_of(4)), legacy_before);
  EXPECT_EQ(alice_ws2_before->owner_role(), domain::role::owner);
  EXPECT_FALSE(alice_ws2_before->owner_removed());
}

TEST_F(owner_view_test, a_narrower_catalog_narrows_owned_keys_and_leaves_ownerless_keys_alone) {
  apply(owned("key_a", 1, alice));
  auto legacy = created("key_legacy", 2);
  legacy.scopes = {"leads:read", "leads:write", "anything:else"};
  apply(legacy);
  const auto legacy_before = view_.find(digest_of(2));
  EXPECT_EQ(legacy_before->effective_scopes(), legacy.scopes);
  EXPECT_FALSE(legacy_before->owner_role().has_value());
  EXPECT_FALSE(legacy_before->owner_removed());

  domain::workspace_settings_changed change;
  change.workspace_id = "ws_1";
  change.scope_catalog = scopes{"leads:read", "proposals:read"};
  change.changed_by = alice;
  change.changed_at = t0 + 5s;
  settings(change);

  EXPECT_EQ(view_.find(digest_of(1))->effective_scopes(),
            (scopes{"leads:read", "keys:read", "keys:write", "users:write", "workspace:admin"}));
  EXPECT_FALSE(view_.find(digest_of(1))->has_scope("leads:write"));
  EXPECT_EQ(view_.find(digest_of(2)), legacy_before);  // not republished
  EXPECT_EQ(view_.find_workspace("ws_1")->scope_catalog, *change.scope_catalog);

  // A policy-only change keeps every entry as it is
  const auto owned_before = view_.find(digest_of(1));
  domain::workspace_settings_changed policy_only;
  policy_only.workspace_id = "ws_1";
  policy_only.policy = domain::key_policy{std::chrono::days(7), std::chrono::days(30), true, false};
  policy_only.changed_by = alice;
  policy_only.changed_at = t0 + 6s;
  settings(policy_only);
  EXPECT_EQ(view_.find(digest_of(1)), owned_before);
  EXPECT_EQ(view_.find_workspace("ws_1")->policy, *policy_only.policy);
  EXPECT_EQ(view_.find_workspace("ws_1")->scope_catalog, *change.scope_catalog);

  // Widened again, the catalog scope comes back
  change.scope_catalog = catalog;
  settings(change);
  EXPECT_TRUE(view_.find(digest_of(1))->has_scope("leads:write"));
}

TEST_F(owner_view_test, ownerless_keys_ignore_membership_events) {
  auto legacy = created("key_legacy", 1);
  legacy.scopes = {"leads:read", "users:write"};
  apply(legacy);
  const auto before = view_.find(digest_of(1));
  member(role_changed(alice, domain::role::admin, domain::role::auditor));
  member(removed(alice));
  EXPECT_EQ(view_.find(digest_of(1)), before);
  EXPECT_TRUE(before->has_scope("users:write"));
  EXPECT_EQ(before->status_at(t0), domain::key_status::active);
}

TEST_F(owner_view_test, an_update_of_the_scopes_is_resolved_against_the_current_role) {
  member(invited(bob, domain::role::member));
  apply(owned("key_b", 1, bob));
  domain::key_updated u;
  u.key_id = "key_b";
  u.scopes = scopes{"calendar:read", "audit:read", "keys:read"};
  u.updated_at = t0 + 1s;
  apply(u);
  const auto k = view_.find(digest_of(1));
  EXPECT_EQ(k->state().scopes, *u.scopes);
  EXPECT_EQ(k->effective_scopes(), (scopes{"calendar:read", "keys:read"}));
  EXPECT_EQ(k->owner_role(), domain::role::member);
}

TEST_F(owner_view_test, a_rotated_key_keeps_its_owner_and_both_follow_a_demotion) {
  apply(owned("key_old", 1, alice));
  auto fresh = owned("key_new", 2, alice);
  fresh.rotated_from = "key_old";
  apply(domain::key_rotated{"key_old", "key_new", t0 + 10s, t0 + 10s + 24h});
  apply(fresh);
  member(role_changed(alice, domain::role::admin, domain::role::member));
  for (int hash : {1, 2}) {
    const auto k = view_.find(digest_of(hash));
    EXPECT_EQ(k->owner_role(), domain::role::member) << hash;
    EXPECT_FALSE(k->has_scope("users:write")) << hash;
    EXPECT_TRUE(k->has_scope("leads:read")) << hash;
  }
}

TEST_F(view_test, a_key_seen_before_its_owners_invitation_is_disabled_until_it_arrives) {
  // Streams are independent: the key's stream may come first in the log.
  workspace("ws_1", "qg", {}, catalog);
  apply(owned("key_a", 1, alice));
  auto k = view_.find(digest_of(1));
  EXPECT_TRUE(k->owner_removed());
  EXPECT_TRUE(k->effective_scopes().empty());
  EXPECT_EQ(k->status_at(t0), domain::key_status::disabled);

  member(invited(alice, domain::role::member));
  k = view_.find(digest_of(1));
  EXPECT_FALSE(k->owner_removed());
  EXPECT_EQ(k->owner_role(), domain::role::member);
  EXPECT_EQ(k->status_at(t0), domain::key_status::active);
  EXPECT_EQ(k->effective_scopes(),
            (scopes{"leads:read", "leads:write", "keys:read", "keys:write"}));
}

TEST_F(view_test, a_key_seen_before_its_workspace_gets_the_catalog_when_the_workspace_arrives) {
  member(invited(alice, domain::role::owner));
  apply(owned("key_a", 1, alice));
  // No catalog known yet: only the management scopes are effective
  EXPECT_EQ(view_.find(digest_of(1))->effective_scopes(),
            (scopes{"keys:read", "keys:write", "users:write", "workspace:admin"}));
  workspace("ws_1", "qg", {}, catalog);
  EXPECT_EQ(view_.find(digest_of(1))->effective_scopes(), owned("key_a", 1, alice).scopes);
}

TEST_F(view_test, membership_changes_before_any_key_are_remembered) {
  workspace("ws_1", "qg", {}, catalog);
  member(invited(alice, domain::role::admin));
  member(role_changed(alice, domain::role::admin, domain::role::auditor));
  member(invited(bob, domain::role::member));
  member(removed(bob));
  apply(owned("key_a", 1, alice));
  apply(owned("key_b", 2, bob));
  EXPECT_EQ(view_.find(digest_of(1))->owner_role(), domain::role::auditor);
  EXPECT_EQ(view_.find(digest_of(1))->effective_scopes(), (scopes{"leads:read", "keys:read"}));
  EXPECT_TRUE(view_.find(digest_of(2))->owner_removed());
}

TEST_F(view_test, bad_membership_and_settings_events_are_skipped_and_change_nothing) {
  workspace("ws_1", "qg", {}, catalog);
  member(invited(alice, domain::role::admin));
  apply(owned("key_a", 1, alice));
  const auto before = view_.find(digest_of(1));
  const auto seq = view_.applied_seq();

  // Undecodable payloads
  apply_raw("MemberRemoved", "{}");
  apply_raw("MemberRoleChanged", R"({"workspace_id":"ws_1","user_id":")" + alice +
                                     R"(","from":"admin","to":"god","changed_by":"x",)"
                                     R"("changed_at":"2026-11-23T19:36:02Z"})");
  apply_raw("WorkspaceSettingsChanged", "[]");
  // A membership event whose payload names another workspace than its stream
  member(removed(alice), domain::members_stream_id("ws_other"));
  // A workspace event in the wrong stream, and settings of a workspace never created
  domain::workspace_settings_changed narrow;
  narrow.workspace_id = "ws_1";
  narrow.scope_catalog = scopes{};
  narrow.changed_by = alice;
  narrow.changed_at = t0;
  {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = domain::workspace_stream_id("ws_other");
    r.type = "WorkspaceSettingsChanged";
    r.payload = infra::encode_payload(domain::workspace_event{narrow});
    view_.apply(r);
  }
  narrow.workspace_id = "ws_ghost";
  settings(narrow);
  // User events are not the key view's
  apply_raw("UserRegistered", R"({"user_id":")" + alice +
                                  R"(","email":"a@example.com","display_name":"A",)"
                                  R"("registered_at":"2026-11-23T19:36:02Z"})");

  EXPECT_EQ(view_.find(digest_of(1)), before);
  EXPECT_EQ(view_.find_workspace("ws_1")->scope_catalog, catalog);
  EXPECT_FALSE(view_.find_workspace("ws_ghost").has_value());
  EXPECT_EQ(view_.applied_seq(), seq + 7);
}

TEST_F(view_test, readers_see_whole_entries_while_roles_change) {
  workspace("ws_1", "qg", {}, catalog);
  member(invited(alice, domain::role::owner));
  apply(owned("key_a", 1, alice));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const auto k = view_.find(digest_of(1));
      // Each entry is consistent: admin/owner -> 6 scopes, member -> 4, removed -> 0.
      const auto n = k->effective_scopes().size();
      const bool ok = (k->owner_removed() && n == 0 && !k->owner_role()) ||
                      (k->owner_role() == domain::role::member && n == 4) ||
                      (k->owner_role() == domain::role::owner && n == 6);
      if (!ok) ++torn;
    }
  });
  for (int i = 0; i < 300; ++i) {
    member(role_changed(alice, domain::role::owner, domain::role::member));
    member(removed(alice));
    member(invited(alice, domain::role::owner));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(view_.find(digest_of(1))->owner_role(), domain::role::owner);
}

TEST_F(view_test, workspace_created_carries_the_scope_catalog) {
  workspace("ws_1", "qg", {}, catalog);
  EXPECT_EQ(view_.find_workspace("ws_1")->scope_catalog, catalog);
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

// GET /v1/keys?as_of= and GET /v1/keys/{id}?as_of=: the key view as it was at an instant, folded
// from the log. At every instant of a key's life the answer is exactly what the live endpoint
// answered then; at now it is the live view; the owner's role and the catalog count as they
// were; the same authorization as the live reads; clear 400s.
#include <regex>

#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

/// Last use is telemetry, not in the log: the past answers null, so compare without it.
std::string without_last_use(const std::string& body) {
  static const std::regex last_use(
      R"re("last_used_at":("[^"]*"|null),"last_used_ip":("[^"]*"|null))re");
  return std::regex_replace(body, last_use, R"("last_used_at":null,"last_used_ip":null)");
}

class as_of_test : public routes_test {
 protected:
  std::string at(domain::timestamp t) { return domain::format_timestamp(t); }

  infra::http_response get(const std::string& target, headers_t who = {}) {
    return call("GET", target, "", who.empty() ? json_with(admin_) : std::move(who));
  }

  /// The live answer for a key now, and the instant it was taken.
  struct snapshot {
    domain::timestamp at;
    std::string body;
  };
  snapshot live(const std::string& id) {
    auto r = get("/v1/keys/" + id);
    EXPECT_EQ(r.status, 200u) << r.body;
    return {clock_.now(), r.body};
  }
};

TEST_F(as_of_test, a_key_at_each_instant_of_its_life_is_exactly_what_it_was_then) {
  const auto before_creation = clock_.now() + 10s - 1us;
  clock_.advance(10s);
  auto k = create(
      R"({"name":"ci deploy","environment":"live","scopes":["leads:read"],"expires_in_days":30})");
  std::vector<snapshot> life{live(k.id)};
  clock_.advance(10s);
  ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id,
                 R"({"name":"ci deploy 2","scopes":["leads:read","leads:write"],)"
                 R"("allowed_cidrs":["10.0.0.0/8"],"rate_limit":{"limit":5,"window_seconds":60}})",
                 json_with(admin_))
                .status,
            200u);
  life.push_back(live(k.id));
  clock_.advance(10s);
  ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"enabled":false})", json_with(admin_)).status,
            200u);
  life.push_back(live(k.id));
  clock_.advance(10s);
  ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"enabled":true})", json_with(admin_)).status,
            200u);
  life.push_back(live(k.id));
  clock_.advance(10s);
  auto rotated = call("POST", "/v1/keys/" + k.id + "/rotate", R"({"grace_period_seconds":3600})",
                      json_with(admin_));
  ASSERT_EQ(rotated.status, 201u) << rotated.body;
  const auto successor = string_field(rotated.body, "id");
  life.push_back(live(k.id));
  const auto successor_at_rotation = live(successor);
  // The grace period ends: from then on the old key is expired by the clock alone.
  clock_.advance(3601s);
  life.push_back(live(k.id));
  EXPECT_EQ(string_field(life.back().body, "status"), "expired");
  clock_.advance(10s);
  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u);
  life.push_back(live(k.id));
  EXPECT_EQ(string_field(life.back().body, "status"), "revoked");
  clock_.advance(1h);

  for (const auto& s : life) {
    auto r = get("/v1/keys/" + k.id + "?as_of=" + at(s.at));
    EXPECT_EQ(r.status, 200u) << at(s.at);
    EXPECT_EQ(r.body, without_last_use(s.body)) << "as of " << at(s.at);
    // Until the next change the key stays as it was.
    auto later = get("/v1/keys/" + k.id + "?as_of=" + at(s.at + 5s));
    EXPECT_EQ(string_field(later.body, "name"), string_field(s.body, "name"));
  }
  // The statuses along the way, evaluated at each instant.
  std::vector<std::string> statuses;
  for (const auto& s : life) statuses.push_back(string_field(s.body, "status"));
  EXPECT_EQ(statuses, (std::vector<std::string>{"active", "active", "disabled", "active", "active",
                                                "expired", "revoked"}));
  EXPECT_EQ(get("/v1/keys/" + successor + "?as_of=" + at(successor_at_rotation.at)).body,
            without_last_use(successor_at_rotation.body));
  // Before it was created the key did not exist.
  EXPECT_EQ(code_of(get("/v1/keys/" + k.id + "?as_of=" + at(before_creation))), "NOT_FOUND");
  EXPECT_EQ(code_of(get("/v1/keys/" + successor + "?as_of=" + at(life[3].at))), "NOT_FOUND");
}

TEST_F(as_of_test, at_now_the_list_is_the_live_list_and_earlier_it_is_what_was_listed_then) {
  clock_.advance(1s);
  auto a = create(R"({"name":"alpha","environment":"live","scopes":["leads:read"]})");
  clock_.advance(1s);
  auto b = create(R"({"name":"beta","environment":"test"})");
  clock_.advance(1s);
  const auto mid = clock_.now();
  const auto listed_mid = get("/v1/keys?limit=100");
  clock_.advance(1s);
  create(R"({"name":"gamma","environment":"live"})");
  ASSERT_EQ(call("DELETE", "/v1/keys/" + a.id, "", json_with(admin_)).status, 204u);
  clock_.advance(1s);

  const auto now_list = get("/v1/keys?limit=100");
  const auto replayed = get("/v1/keys?limit=100&as_of=" + at(clock_.now()));
  ASSERT_EQ(replayed.status, 200u) << replayed.body;
  EXPECT_EQ(replayed.body, without_last_use(now_list.body));
  EXPECT_EQ(get("/v1/keys?limit=100&as_of=" + at(mid)).body, without_last_use(listed_mid.body));
  EXPECT_EQ(parse(get("/v1/keys?as_of=" + at(mid)).body)["data"].Size(), 3u)
      << "the bootstrap key, alpha and beta";

  // Filters apply to the past: alpha was active then and is revoked now.
  auto revoked_then = parse(get("/v1/keys?status=revoked&as_of=" + at(mid)).body);
  EXPECT_EQ(revoked_then["data"].Size(), 0u);
  auto revoked_now = parse(get("/v1/keys?status=revoked&as_of=" + at(clock_.now())).body);
  ASSERT_EQ(revoked_now["data"].Size(), 1u);
  EXPECT_EQ(std::string(revoked_now["data"][0]["id"].GetString()), a.id);
  auto tests = parse(get("/v1/keys?environment=test&name=BET&as_of=" + at(mid)).body);
  ASSERT_EQ(tests["data"].Size(), 1u);
  EXPECT_EQ(std::string(tests["data"][0]["id"].GetString()), b.id);

  // Pages, newest first, with the cursor of the same list.
  std::vector<std::string> names;
  std::string target = "/v1/keys?limit=1&as_of=" + at(mid);
  for (int pages = 0; pages < 10; ++pages) {
    auto page = parse(get(target).body);
    for (const auto& key : page["data"].GetArray()) names.emplace_back(key["name"].GetString());
    if (page["next_cursor"].IsNull()) break;
    target = "/v1/keys?limit=1&as_of=" + at(mid) + "&cursor=" + page["next_cursor"].GetString();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"beta", "alpha", "admin"}));
}

TEST_F(as_of_test, before_the_workspace_existed_there_is_nothing) {
  const auto long_ago = domain::timestamp(std::chrono::seconds(1'000'000'000));
  auto r = get("/v1/keys?as_of=" + at(long_ago));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"data":[],"next_cursor":null})");
  EXPECT_EQ(code_of(get("/v1/keys/" + admin_id_ + "?as_of=" + at(long_ago))), "NOT_FOUND");
}

TEST_F(as_of_test, effective_scopes_follow_the_owners_role_and_the_catalog_of_that_instant) {
  auto member = join(role::member, "m@acme.example");
  clock_.advance(1s);
  auto k = create_as(
      member,
      R"({"name":"m","environment":"live","scopes":["leads:read","leads:write","keys:write"]})");
  const auto as_member = clock_.now();
  clock_.advance(1s);
  ASSERT_EQ(
      call("PATCH", "/v1/users/" + member.id, R"({"role":"auditor"})", json_with(admin_)).status,
      200u);
  const auto as_auditor = clock_.now();
  clock_.advance(1s);
  ASSERT_EQ(call("PATCH", "/v1/workspace", R"({"scope_catalog":["leads:write","calendar:read"]})",
                 json_with(admin_))
                .status,
            200u);
  const auto narrower_catalog = clock_.now();
  clock_.advance(1s);
  ASSERT_EQ(call("DELETE", "/v1/users/" + member.id, "", json_with(admin_)).status, 204u);
  const auto removed = clock_.now();
  clock_.advance(1s);

  const auto then = [&](domain::timestamp t) {
    return get("/v1/keys/" + k.id + "?as_of=" + at(t)).body;
  };
  EXPECT_EQ(scopes_of(then(as_member), "effective_scopes"),
            (std::vector<std::string>{"leads:read", "leads:write", "keys:write"}));
  EXPECT_EQ(scopes_of(then(as_auditor), "effective_scopes"),
            (std::vector<std::string>{"leads:read"}));
  EXPECT_EQ(scopes_of(then(narrower_catalog), "effective_scopes"), std::vector<std::string>{});
  EXPECT_EQ(string_field(then(narrower_catalog), "status"), "active");
  EXPECT_EQ(scopes_of(then(removed), "effective_scopes"), std::vector<std::string>{});
  EXPECT_EQ(string_field(then(removed), "status"), "disabled");
  EXPECT_EQ(string_field(then(removed), "disabled_reason"), "owner_removed");
  EXPECT_EQ(string_field(then(as_auditor), "owner_user_id"), member.id);
  // The key's own scopes never changed.
  EXPECT_EQ(scopes_of(then(removed), "scopes"),
            (std::vector<std::string>{"leads:read", "leads:write", "keys:write"}));
}

TEST_F(as_of_test, the_past_is_shown_to_whoever_may_see_the_key_now) {
  auto member = join(role::member, "m@acme.example");
  auto auditor = join(role::auditor, "au@acme.example");
  clock_.advance(1s);
  auto mine = create_as(member, R"({"name":"mine","environment":"live"})");
  auto theirs = create(R"({"name":"theirs","environment":"live"})");
  clock_.advance(1s);
  const auto t = at(clock_.now());

  EXPECT_EQ(get("/v1/keys/" + mine.id + "?as_of=" + t, as(member, false)).status, 200u);
  EXPECT_EQ(code_of(get("/v1/keys/" + theirs.id + "?as_of=" + t, as(member, false))), "NOT_FOUND");
  auto members_list = parse(get("/v1/keys?as_of=" + t, as(member, false)).body);
  ASSERT_EQ(members_list["data"].Size(), 1u);
  EXPECT_EQ(std::string(members_list["data"][0]["id"].GetString()), mine.id);
  EXPECT_EQ(parse(get("/v1/keys?as_of=" + t, as(auditor, false)).body)["data"].Size(), 3u);
  EXPECT_EQ(get("/v1/keys/" + mine.id + "?as_of=" + t, as(auditor, false)).status, 200u);

  // Another workspace's key is not there, then as now.
  auto other = bootstrap("other", "ot");
  clock_.advance(1s);
  EXPECT_EQ(code_of(get("/v1/keys/" + other.key_id + "?as_of=" + at(clock_.now()))), "NOT_FOUND");
  EXPECT_EQ(
      parse(get("/v1/keys?as_of=" + at(clock_.now()), json_with(other.key)).body)["data"].Size(),
      1u);
  // A key needs keys:read, as for the live reads.
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:write"]})");
  EXPECT_EQ(code_of(get("/v1/keys?as_of=" + t, json_with(writer.key))), "FORBIDDEN");
}

TEST_F(as_of_test, a_bad_or_future_instant_is_a_clear_400) {
  const std::pair<std::string, std::string> cases[] = {
      {"/v1/keys?as_of=yesterday", "RFC 3339"},
      {"/v1/keys?as_of=2027-01-01T00:00:00", "RFC 3339"},
      {"/v1/keys?as_of=2027-01-01T00:00:00%2B01:00", "RFC 3339"},
      {"/v1/keys?as_of=", "RFC 3339"},
      {"/v1/keys?as_of=" + at(clock_.now() + 1us), "future"},
      {"/v1/keys/" + admin_id_ + "?as_of=" + at(clock_.now() + 1h), "future"},
      {"/v1/keys/" + admin_id_ + "?as_of=13", "RFC 3339"},
  };
  const auto before = store_.head_seq();
  for (const auto& [target, words] : cases) {
    auto r = get(target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_EQ(code_of(r), "INVALID_FIELD") << target;
    const auto message = string_field(r.body, "message");
    EXPECT_NE(message.find("as_of"), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_EQ(code_of(get("/v1/keys?as_of=" + at(clock_.now()) + "&as_of=" + at(clock_.now()))),
            "INVALID_FIELD");
  EXPECT_EQ(code_of(get("/v1/keys/self?as_of=" + at(clock_.now()))), "UNKNOWN_FIELD");
  EXPECT_EQ(code_of(get("/v1/keys/key_0000000000000000000000?as_of=" + at(clock_.now()))),
            "NOT_FOUND");
  EXPECT_EQ(get("/v1/keys/" + admin_id_ + "?as_of=" + at(clock_.now())).status, 200u);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

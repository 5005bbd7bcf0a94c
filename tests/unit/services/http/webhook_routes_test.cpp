// /v1/webhooks: creation with a signing secret shown once, reading, changes, secret rotation,
// deletion, the deliveries listing and manual retry; who may do each, workspace isolation, and
// bad input that changes nothing.
#include "domain/webhooks/delivery.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

constexpr const char* receiver =
    R"({"url":"https://hooks.example.com/keyledger","event_types":["key.*","oauth.grant.revoked"]})";

class webhook_routes_test : public routes_test {
 protected:
  /// Creates `body` as the admin key; fails the test unless 201. Returns (id, secret).
  std::pair<std::string, std::string> create_endpoint(const std::string& body = receiver) {
    auto r = call("POST", "/v1/webhooks", body, json_with(admin_));
    EXPECT_EQ(r.status, 201u) << r.body;
    return {string_field(r.body, "id"), string_field(r.body, "secret")};
  }
  /// Everything the log holds, payloads and metadata.
  std::string whole_log() {
    std::string out;
    for (const auto& e : store_.read_all(0, 10'000)) out += e.payload + e.metadata;
    return out;
  }
  /// A delivery of `endpoint` for the event at `seq`, enqueued as the dispatcher would.
  std::string enqueue(const std::string& endpoint, std::uint64_t seq) {
    infra::new_delivery d;
    d.message_id = domain::new_id(domain::webhooks::message_id_tag, random_);
    random_.fill(d.event_id);
    d.endpoint_id = endpoint;
    d.workspace_id = workspace_id_;
    d.event_seq = seq;
    d.event_type = "key.created";
    d.payload = R"({"type":"key.created"})";
    d.due_us = domain::to_micros(clock_.now());
    EXPECT_EQ(webhook_store_.enqueue(std::span(&d, 1)), 1u);
    return d.message_id;
  }
  /// Claims everything due and records a failed attempt (a 500) for each.
  void fail_all_due(bool give_up = false) {
    const auto now = domain::to_micros(clock_.now());
    for (const auto& d : webhook_store_.claim(100, now, now + 60'000'000)) {
      infra::attempt_result a;
      a.message_id = d.message_id;
      a.claim = d.claim;
      a.endpoint_id = d.endpoint_id;
      a.started_us = now;
      a.latency_ms = 12;
      a.response_status = 500;
      a.outcome = infra::attempt_outcome::http_error;
      a.error = "the endpoint answered 500";
      if (!give_up) a.next_attempt_us = now + 5'000'000;
      std::optional<std::int64_t> since;
      EXPECT_TRUE(webhook_store_.record(a, since));
    }
  }
};

TEST_F(webhook_routes_test, an_endpoint_is_created_with_a_secret_shown_once) {
  auto r = call("POST", "/v1/webhooks", receiver, json_with(admin_));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto d = parse(r.body);
  const std::string id = d["id"].GetString();
  const std::string secret = d["secret"].GetString();
  EXPECT_TRUE(domain::webhooks::valid_endpoint_id(id));
  EXPECT_TRUE(secret.starts_with("whsec_"));
  EXPECT_TRUE(domain::webhooks::secret_key(secret)) << "what Standard Webhooks verifiers take";
  EXPECT_EQ(std::string(d["url"].GetString()), "https://hooks.example.com/keyledger");
  EXPECT_EQ(scopes_of(r.body, "event_types"),
            (std::vector<std::string>{"key.*", "oauth.grant.revoked"}));
  EXPECT_TRUE(d["enabled"].GetBool());
  EXPECT_TRUE(d["disabled_reason"].IsNull());
  EXPECT_EQ(d["secret_version"].GetInt(), 1);
  EXPECT_EQ(std::string(d["workspace_id"].GetString()), workspace_id_);
  EXPECT_EQ(std::string(d["created_by"].GetString()), owner_id_);

  // Never shown again; never in the log; only a sealed copy stored.
  auto got = call("GET", "/v1/webhooks/" + id, "", json_with(admin_));
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_FALSE(parse(got.body).HasMember("secret"));
  auto list = call("GET", "/v1/webhooks", "", json_with(admin_));
  ASSERT_EQ(list.status, 200u);
  auto l = parse(list.body);
  ASSERT_EQ(l["data"].Size(), 1u);
  EXPECT_EQ(std::string(l["data"][0]["id"].GetString()), id);
  EXPECT_FALSE(l["data"][0].HasMember("secret"));
  EXPECT_EQ(list.body.find(secret.substr(6)), std::string::npos);
  EXPECT_EQ(whole_log().find(secret.substr(6)), std::string::npos);
  for (const auto& [where, sealed] : webhook_store_.secrets()) {
    EXPECT_EQ(sealed.find(secret.substr(6)), std::string::npos);
  }
  // Created disabled when asked.
  auto off = call("POST", "/v1/webhooks",
                  R"({"url":"http://127.0.0.1:9000/h","event_types":["*"],"enabled":false})",
                  json_with(admin_));
  ASSERT_EQ(off.status, 201u) << off.body;
  EXPECT_FALSE(parse(off.body)["enabled"].GetBool());
  EXPECT_EQ(string_field(off.body, "disabled_reason"), "manual");
}

TEST_F(webhook_routes_test, bad_input_is_400_naming_the_field_and_changes_nothing) {
  const auto [id, secret] = create_endpoint();
  const auto before = store_.head_seq();
  const auto secrets_before = webhook_store_.secrets().size();
  const std::pair<std::string, std::string> bad[] = {
      {R"({"event_types":["*"]})", "url"},
      {R"({"url":"https://hooks.example.com/h"})", "event_types"},
      {R"({"url":"http://example.com/h","event_types":["*"]})", "url"},
      {R"({"url":"ftp://hooks.example.com/h","event_types":["*"]})", "url"},
      {R"({"url":"https://hooks.example.com/h#frag","event_types":["*"]})", "url"},
      {R"({"url":"https://user@hooks.example.com/h","event_types":["*"]})", "url"},
      {R"({"url":"https://hooks.example.com/h","event_types":[]})", "event_types"},
      {R"({"url":"https://hooks.example.com/h","event_types":["key.nope"]})", "event_types"},
      {R"({"url":"https://hooks.example.com/h","event_types":["key.*","key.*"]})", "event_types"},
      {R"({"url":"https://hooks.example.com/h","event_types":["keys.*"]})", "event_types"},
  };
  for (const auto& [body, field] : bad) {
    auto r = call("POST", "/v1/webhooks", body, json_with(admin_));
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_NE(string_field(r.body, "message").find("'" + field + "'"), std::string::npos)
        << body << " " << r.body;
  }
  for (const char* body :
       {R"({"url":"https://hooks.example.com/h","event_types":"key.*"})",
        R"({"url":"https://hooks.example.com/h","event_types":["*"],"enabled":"yes"})",
        R"({"url":"https://hooks.example.com/h","event_types":["*"],"secret":"whsec_mine"})",
        R"({"url":"https://hooks.example.com/h","event_types":["*"],"description":"x"})", "[]",
        "{"}) {
    auto r = call("POST", "/v1/webhooks", body, json_with(admin_));
    EXPECT_EQ(r.status, 400u) << body << " " << r.body;
  }
  // The same rules on a change; a refused change leaves the switch alone too.
  for (const char* body : {R"({"url":"http://example.com/h"})", R"({"event_types":["nope"]})",
                           R"({"url":"ftp://x.example/h","enabled":false})",
                           R"({"event_types":[],"enabled":false})", R"({"enabled":0})"}) {
    auto r = call("PATCH", "/v1/webhooks/" + id, body, json_with(admin_));
    EXPECT_EQ(r.status, 400u) << body << " " << r.body;
  }
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_EQ(webhook_store_.secrets().size(), secrets_before);
  EXPECT_EQ(parse(call("GET", "/v1/webhooks", "", json_with(admin_)).body)["data"].Size(), 1u);
  const auto e = webhook_endpoints_.find(id);
  EXPECT_TRUE(e->enabled);
  EXPECT_EQ(e->settings.url, "https://hooks.example.com/keyledger");
}

TEST_F(webhook_routes_test, owners_and_admins_manage_auditors_read_members_neither) {
  const auto [id, secret] = create_endpoint();
  auto member = join(role::member, "m@acme.example");
  auto auditor = join(role::auditor, "a@acme.example");
  auto admin = join(role::admin, "ad@acme.example");
  EXPECT_EQ(call("GET", "/v1/webhooks", "", as(member, false)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/webhooks/" + id, "", as(member, false)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/webhooks", receiver, as(member)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/webhooks", "", as(auditor, false)).status, 200u);
  EXPECT_EQ(call("GET", "/v1/webhooks/" + id, "", as(auditor, false)).status, 200u);
  EXPECT_EQ(call("GET", "/v1/webhooks/" + id + "/deliveries", "", as(auditor, false)).status, 200u);
  EXPECT_EQ(call("POST", "/v1/webhooks", receiver, as(auditor)).status, 403u);
  EXPECT_EQ(call("PATCH", "/v1/webhooks/" + id, R"({"enabled":false})", as(auditor)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/webhooks/" + id + "/rotate-secret", "", as(auditor)).status, 403u);
  EXPECT_EQ(call("DELETE", "/v1/webhooks/" + id, "", as(auditor)).status, 403u);
  EXPECT_EQ(call("PATCH", "/v1/webhooks/" + id, R"({"event_types":["*"]})", as(admin)).status,
            200u);
  EXPECT_EQ(call("POST", "/v1/webhooks", receiver, as(owner())).status, 201u);
  // A session write needs its CSRF token.
  EXPECT_EQ(call("POST", "/v1/webhooks", receiver, as(admin, false)).status, 403u);
  // A key: workspace:admin to manage; workspace:admin or audit:read to read.
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:read","keys:write"]})");
  EXPECT_EQ(call("GET", "/v1/webhooks", "", json_with(writer.key)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/webhooks", receiver, json_with(writer.key)).status, 403u);
  auto reader = create(R"({"name":"r","environment":"live","scopes":["audit:read"]})");
  EXPECT_EQ(call("GET", "/v1/webhooks/" + id, "", json_with(reader.key)).status, 200u);
  EXPECT_EQ(call("DELETE", "/v1/webhooks/" + id, "", json_with(reader.key)).status, 403u);
  EXPECT_TRUE(webhook_endpoints_.find(id)->enabled);
}

TEST_F(webhook_routes_test, another_workspaces_endpoint_does_not_exist_for_the_caller) {
  const auto [id, secret] = create_endpoint();
  const auto message = enqueue(id, 1);
  auto other = bootstrap("globex", "gx");
  const auto before = store_.head_seq();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/webhooks/" + id},
           {"PATCH", "/v1/webhooks/" + id},
           {"DELETE", "/v1/webhooks/" + id},
           {"POST", "/v1/webhooks/" + id + "/rotate-secret"},
           {"GET", "/v1/webhooks/" + id + "/deliveries"},
           {"POST", "/v1/webhooks/" + id + "/deliveries/" + message + "/retry"}}) {
    auto r =
        call(method, path, method == "PATCH" ? R"({"enabled":false})" : "", json_with(other.key));
    EXPECT_EQ(r.status, 404u) << method << " " << path;
    EXPECT_EQ(code_of(r), "NOT_FOUND");
  }
  EXPECT_EQ(parse(call("GET", "/v1/webhooks", "", json_with(other.key)).body)["data"].Size(), 0u);
  EXPECT_EQ(call("GET", "/v1/webhooks/whe_nonsense", "", json_with(admin_)).status, 404u);
  EXPECT_EQ(call("GET", "/v1/webhooks/whe_0000000000000000000000", "", json_with(admin_)).status,
            404u);
  EXPECT_EQ(store_.head_seq(), before) << "nothing appended";
  EXPECT_TRUE(webhook_endpoints_.find(id)->enabled);
}

TEST_F(webhook_routes_test, settings_change_and_the_endpoint_is_switched_off_and_on) {
  const auto [id, secret] = create_endpoint();
  auto changed =
      call("PATCH", "/v1/webhooks/" + id,
           R"({"url":"https://other.example/hook","event_types":["*"]})", json_with(admin_));
  ASSERT_EQ(changed.status, 200u) << changed.body;
  EXPECT_EQ(string_field(changed.body, "url"), "https://other.example/hook");
  EXPECT_EQ(scopes_of(changed.body, "event_types"), std::vector<std::string>{"*"});
  EXPECT_FALSE(parse(changed.body)["updated_at"].IsNull());
  EXPECT_FALSE(parse(changed.body).HasMember("secret"));

  auto off = call("PATCH", "/v1/webhooks/" + id, R"({"enabled":false})", json_with(admin_));
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_FALSE(parse(off.body)["enabled"].GetBool());
  EXPECT_EQ(string_field(off.body, "disabled_reason"), "manual");
  EXPECT_TRUE(webhook_endpoints_.receivers(workspace_id_, "key.created").empty());
  const auto before = store_.head_seq();
  EXPECT_EQ(call("PATCH", "/v1/webhooks/" + id, R"({"enabled":false})", json_with(admin_)).status,
            200u);
  EXPECT_EQ(store_.head_seq(), before) << "no change, nothing appended";
  auto on = call("PATCH", "/v1/webhooks/" + id, R"({"enabled":true})", json_with(admin_));
  ASSERT_EQ(on.status, 200u) << on.body;
  EXPECT_TRUE(parse(on.body)["enabled"].GetBool());
  EXPECT_EQ(webhook_endpoints_.receivers(workspace_id_, "key.created").size(), 1u);
}

TEST_F(webhook_routes_test, enabling_an_endpoint_disabled_for_failing_clears_its_health) {
  const auto [id, secret] = create_endpoint();
  enqueue(id, 1);
  fail_all_due();
  ASSERT_TRUE(webhook_store_.failing_since(id));
  ASSERT_TRUE(endpoint_service_.disable_failing(store_, *webhook_endpoints_.find(id),
                                                clock_.now() - std::chrono::days(5)));
  feed();
  auto got = call("GET", "/v1/webhooks/" + id, "", json_with(admin_));
  EXPECT_FALSE(parse(got.body)["enabled"].GetBool());
  EXPECT_EQ(string_field(got.body, "disabled_reason"), "failing");

  // Switching an enabled endpoint "on" again is no new start.
  const auto [other, other_secret] = create_endpoint();
  enqueue(other, 2);
  fail_all_due();
  EXPECT_EQ(call("PATCH", "/v1/webhooks/" + other, R"({"enabled":true})", json_with(admin_)).status,
            200u);
  EXPECT_TRUE(webhook_store_.failing_since(other));

  auto on = call("PATCH", "/v1/webhooks/" + id, R"({"enabled":true})", json_with(admin_));
  ASSERT_EQ(on.status, 200u) << on.body;
  EXPECT_TRUE(parse(on.body)["enabled"].GetBool());
  EXPECT_TRUE(parse(on.body)["disabled_reason"].IsNull());
  EXPECT_FALSE(webhook_store_.has_health(id)) << "a new failure window";
}

TEST_F(webhook_routes_test, a_rotated_secret_is_shown_once_and_the_old_one_overlaps) {
  const auto [id, old_secret] = create_endpoint();
  auto r = call("POST", "/v1/webhooks/" + id + "/rotate-secret", "", json_with(admin_));
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto new_secret = string_field(r.body, "secret");
  EXPECT_TRUE(new_secret.starts_with("whsec_"));
  EXPECT_NE(new_secret, old_secret);
  EXPECT_EQ(parse(r.body)["secret_version"].GetInt(), 2);
  EXPECT_EQ(string_field(r.body, "previous_secret_valid_until"),
            domain::format_timestamp(clock_.now() + std::chrono::hours(24)))
      << "a day by default";
  const auto state = *webhook_endpoints_.find(id);
  EXPECT_EQ(endpoint_service_.signing_keys(webhook_store_, state, clock_.now()).size(), 2u);
  EXPECT_EQ(whole_log().find(new_secret.substr(6)), std::string::npos);
  EXPECT_FALSE(
      parse(call("GET", "/v1/webhooks/" + id, "", json_with(admin_)).body).HasMember("secret"));

  auto at_once = call("POST", "/v1/webhooks/" + id + "/rotate-secret", R"({"overlap_seconds":0})",
                      json_with(admin_));
  ASSERT_EQ(at_once.status, 200u) << at_once.body;
  EXPECT_EQ(
      endpoint_service_.signing_keys(webhook_store_, *webhook_endpoints_.find(id), clock_.now())
          .size(),
      1u);
  const auto before = store_.head_seq();
  for (const char* body : {R"({"overlap_seconds":604801})", R"({"overlap_seconds":-1})",
                           R"({"overlap_seconds":"1"})", R"({"grace_period_seconds":1})"}) {
    auto refused = call("POST", "/v1/webhooks/" + id + "/rotate-secret", body, json_with(admin_));
    EXPECT_EQ(refused.status, 400u) << body;
  }
  EXPECT_NE(string_field(call("POST", "/v1/webhooks/" + id + "/rotate-secret",
                              R"({"overlap_seconds":604801})", json_with(admin_))
                             .body,
                         "message")
                .find("'overlap_seconds'"),
            std::string::npos);
  EXPECT_EQ(call("POST", "/v1/webhooks/" + id + "/rotate-secret", R"({"overlap_seconds":604800})",
                 json_with(admin_))
                .status,
            200u);
  EXPECT_EQ(store_.head_seq(), before + 1);
}

TEST_F(webhook_routes_test, a_deleted_endpoint_is_gone_for_good) {
  const auto [id, secret] = create_endpoint();
  EXPECT_EQ(call("DELETE", "/v1/webhooks/" + id, "", json_with(admin_)).status, 204u);
  EXPECT_EQ(call("GET", "/v1/webhooks/" + id, "", json_with(admin_)).status, 404u);
  EXPECT_EQ(call("DELETE", "/v1/webhooks/" + id, "", json_with(admin_)).status, 404u);
  EXPECT_EQ(call("PATCH", "/v1/webhooks/" + id, R"({"enabled":true})", json_with(admin_)).status,
            404u);
  EXPECT_EQ(call("GET", "/v1/webhooks/" + id + "/deliveries", "", json_with(admin_)).status, 404u);
  EXPECT_EQ(parse(call("GET", "/v1/webhooks", "", json_with(admin_)).body)["data"].Size(), 0u);
  EXPECT_TRUE(webhook_endpoints_.find(id)->deleted);
}

TEST_F(webhook_routes_test, deliveries_are_listed_newest_first_with_their_attempts) {
  const auto [id, secret] = create_endpoint();
  auto empty = call("GET", "/v1/webhooks/" + id + "/deliveries", "", json_with(admin_));
  ASSERT_EQ(empty.status, 200u) << empty.body;
  EXPECT_EQ(parse(empty.body)["data"].Size(), 0u);
  EXPECT_TRUE(parse(empty.body)["next_before_seq"].IsNull());

  const auto first = enqueue(id, 10);
  fail_all_due();
  const auto second = enqueue(id, 20);
  const auto [other, other_secret] = create_endpoint();
  enqueue(other, 30);
  auto r = call("GET", "/v1/webhooks/" + id + "/deliveries", "", json_with(admin_));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto d = parse(r.body);
  ASSERT_EQ(d["data"].Size(), 2u) << "only this endpoint's";
  EXPECT_EQ(std::string(d["data"][0]["id"].GetString()), second);
  EXPECT_EQ(std::string(d["data"][1]["id"].GetString()), first);
  const auto& failed = d["data"][1];
  EXPECT_EQ(std::string(failed["status"].GetString()), "pending");
  EXPECT_EQ(failed["attempts"].GetInt(), 1);
  EXPECT_EQ(failed["event_seq"].GetInt(), 10);
  EXPECT_EQ(std::string(failed["event_type"].GetString()), "key.created");
  EXPECT_EQ(std::string(failed["next_attempt_at"].GetString()),
            domain::format_timestamp(clock_.now() + std::chrono::seconds(5)));
  ASSERT_EQ(failed["attempt_log"].Size(), 1u);
  const auto& attempt = failed["attempt_log"][0];
  EXPECT_EQ(attempt["attempt"].GetInt(), 1);
  EXPECT_EQ(std::string(attempt["started_at"].GetString()), domain::format_timestamp(clock_.now()));
  EXPECT_EQ(attempt["latency_ms"].GetInt(), 12);
  EXPECT_EQ(attempt["response_status"].GetInt(), 500);
  EXPECT_EQ(std::string(attempt["outcome"].GetString()), "http_error");
  EXPECT_EQ(std::string(attempt["error"].GetString()), "the endpoint answered 500");
  EXPECT_FALSE(failed.HasMember("payload")) << "a payload is the receiver's business";

  // Pages.
  auto page = call("GET", "/v1/webhooks/" + id + "/deliveries?limit=1", "", json_with(admin_));
  auto p = parse(page.body);
  ASSERT_EQ(p["data"].Size(), 1u);
  EXPECT_EQ(p["next_before_seq"].GetInt(), 20);
  auto rest = call("GET", "/v1/webhooks/" + id + "/deliveries?limit=1&before_seq=20", "",
                   json_with(admin_));
  auto q = parse(rest.body);
  ASSERT_EQ(q["data"].Size(), 1u);
  EXPECT_EQ(std::string(q["data"][0]["id"].GetString()), first);
  EXPECT_TRUE(q["next_before_seq"].IsNull());
  for (const char* query : {"?limit=0", "?limit=101", "?limit=x", "?before_seq=0", "?before_seq=-1",
                            "?limit=1&limit=2", "?cursor=x"}) {
    auto bad = call("GET", "/v1/webhooks/" + id + "/deliveries" + query, "", json_with(admin_));
    EXPECT_EQ(bad.status, 400u) << query << " " << bad.body;
  }
}

TEST_F(webhook_routes_test, a_delivery_is_retried_by_hand_only_through_its_own_endpoint) {
  const auto [id, secret] = create_endpoint();
  const auto message = enqueue(id, 5);
  fail_all_due(/*give_up=*/true);
  const auto [other, other_secret] = create_endpoint();
  const auto foreign = enqueue(other, 6);
  clock_.advance(std::chrono::minutes(1));

  auto r = call("POST", "/v1/webhooks/" + id + "/deliveries/" + message + "/retry", "",
                json_with(admin_));
  ASSERT_EQ(r.status, 202u) << r.body;
  EXPECT_EQ(string_field(r.body, "status"), "pending");
  auto listed =
      parse(call("GET", "/v1/webhooks/" + id + "/deliveries", "", json_with(admin_)).body);
  EXPECT_EQ(std::string(listed["data"][0]["status"].GetString()), "pending");
  EXPECT_EQ(std::string(listed["data"][0]["next_attempt_at"].GetString()),
            domain::format_timestamp(clock_.now()));

  for (const auto& path : {"/v1/webhooks/" + id + "/deliveries/" + foreign + "/retry",
                           "/v1/webhooks/" + id + "/deliveries/msg_0000000000000000000000/retry",
                           "/v1/webhooks/" + id + "/deliveries/nonsense/retry"}) {
    auto refused = call("POST", path, "", json_with(admin_));
    EXPECT_EQ(refused.status, 404u) << path << " " << refused.body;
  }
  auto auditor = join(role::auditor, "a@acme.example");
  EXPECT_EQ(
      call("POST", "/v1/webhooks/" + id + "/deliveries/" + message + "/retry", "", as(auditor))
          .status,
      403u);
  // A disabled endpoint's deliveries are dropped, not sent: enable it first.
  ASSERT_EQ(call("PATCH", "/v1/webhooks/" + id, R"({"enabled":false})", json_with(admin_)).status,
            200u);
  auto disabled = call("POST", "/v1/webhooks/" + id + "/deliveries/" + message + "/retry", "",
                       json_with(admin_));
  EXPECT_EQ(disabled.status, 409u);
  EXPECT_EQ(code_of(disabled), "ENDPOINT_DISABLED");
}

}  // namespace
}  // namespace keyledger::services::routes_testing

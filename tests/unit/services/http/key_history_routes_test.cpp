// GET /v1/keys/{id}/history: every event of the key and of its rotation chain in global order,
// with who, when and from where and a sentence a person can read; never a secret; readable by
// whoever may read the key with keys:read or audit:read (auditors included), 404 otherwise.
#include "infra/json/event_codec.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

class history_test : public routes_test {
 protected:
  rapidjson::Document history(const std::string& id, headers_t who = {},
                              const std::string& query = "") {
    auto r = call("GET", "/v1/keys/" + id + "/history" + query, "",
                  who.empty() ? json_with(admin_) : std::move(who));
    EXPECT_EQ(r.status, 200u) << r.body;
    last_body_ = r.body;
    return parse(r.body);
  }
  static std::vector<std::string> strings(const rapidjson::Value& entries, const char* field) {
    std::vector<std::string> out;
    for (const auto& e : entries.GetArray()) {
      out.emplace_back(e[field].IsNull() ? "null" : e[field].GetString());
    }
    return out;
  }
  std::string last_body_;
};

TEST_F(history_test, the_chain_in_order_in_words_with_who_when_and_where) {
  auto owner_session = owner();
  clock_.advance(1s);
  auto k =
      create_as(owner_session, R"({"name":"ci","environment":"live","scopes":["leads:read"]})");
  clock_.advance(1s);
  ASSERT_EQ(
      call(
          "PATCH", "/v1/keys/" + k.id,
          R"({"name":"ci 2","scopes":["leads:read","leads:write"],"postback_url":"https://example.com/h"})",
          json_with(admin_), "203.0.113.9")
          .status,
      200u);
  clock_.advance(1s);
  ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"enabled":false})", as(owner_session)).status,
            200u);
  clock_.advance(1s);
  ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"enabled":true})", as(owner_session)).status,
            200u);
  clock_.advance(1s);
  const auto rotated_at = clock_.now();
  auto rotated = call("POST", "/v1/keys/" + k.id + "/rotate", R"({"grace_period_seconds":3600})",
                      json_with(admin_));
  ASSERT_EQ(rotated.status, 201u);
  const auto next = string_field(rotated.body, "id");
  const auto next_secret = string_field(rotated.body, "key");
  clock_.advance(1s);
  auto again = call("POST", "/v1/keys/" + next + "/rotate", R"({"grace_period_seconds":0})",
                    json_with(admin_));
  ASSERT_EQ(again.status, 201u);
  const auto last = string_field(again.body, "id");
  clock_.advance(1s);
  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u);

  auto h = history(k.id);
  EXPECT_EQ(std::string(h["key_id"].GetString()), k.id);
  std::vector<std::string> chain;
  for (const auto& id : h["chain"].GetArray()) chain.emplace_back(id.GetString());
  EXPECT_EQ(chain, (std::vector<std::string>{k.id, next, last}));
  const auto& data = h["data"];
  EXPECT_EQ(strings(data, "type"),
            (std::vector<std::string>{"KeyCreated", "KeyUpdated", "KeyDisabled", "KeyEnabled",
                                      "KeyRotated", "KeyCreated", "KeyRotated", "KeyCreated",
                                      "KeyRevoked"}));
  EXPECT_EQ(strings(data, "key_id"),
            (std::vector<std::string>{k.id, k.id, k.id, k.id, k.id, next, next, last, k.id}));
  std::uint64_t previous = 0;
  for (const auto& e : data.GetArray()) {
    EXPECT_GT(e["global_seq"].GetUint64(), previous) << "global order";
    previous = e["global_seq"].GetUint64();
    EXPECT_TRUE(domain::parse_timestamp(e["recorded_at"].GetString()));
    EXPECT_EQ(std::string(e["request_id"].GetString()), "req_test");
  }
  EXPECT_EQ(std::string(data[4]["recorded_at"].GetString()), domain::format_timestamp(rotated_at));
  EXPECT_EQ(strings(data, "actor"),
            (std::vector<std::string>{owner_id_, admin_id_, owner_id_, owner_id_, admin_id_,
                                      admin_id_, admin_id_, admin_id_, admin_id_}));
  EXPECT_EQ(strings(data, "acting_for")[1], owner_id_) << "the admin key acts for the owner";
  EXPECT_EQ(strings(data, "acting_for")[0], "null");
  EXPECT_EQ(strings(data, "source_ip")[1], "203.0.113.9");
  EXPECT_EQ(strings(data, "source_ip")[0], "127.0.0.1");

  const auto by_key = owner_id_ + " with key " + admin_id_;
  const auto words = strings(data, "description");
  EXPECT_EQ(words[0], "Created by " + owner_id_ + ": \"ci\" (live), scopes leads:read, owned by " +
                          owner_id_ + "; expires at " +
                          domain::format_timestamp(rotated_at - 4s + 90 * 24h) + ".");
  EXPECT_EQ(words[1], "Changed by " + by_key +
                          ": name \"ci\" to \"ci 2\"; scopes leads:read to leads:read, "
                          "leads:write; postbacks to https://example.com/h.");
  EXPECT_EQ(words[2], "Disabled by " + owner_id_ + ".");
  EXPECT_EQ(words[3], "Enabled by " + owner_id_ + ".");
  EXPECT_EQ(words[4], "Rotated by " + by_key + ": replaced by " + next +
                          "; the old secret works until " +
                          domain::format_timestamp(rotated_at + 1h) + ".");
  EXPECT_EQ(
      words[5].rfind(
          "Created by " + by_key + " by rotating " + k.id + ", with its settings; expires at ", 0),
      0u)
      << words[5];
  EXPECT_EQ(words[6], "Rotated by " + by_key + ": replaced by " + last +
                          "; the old secret stopped working at once.");
  EXPECT_EQ(words[8], "Revoked by " + by_key + ".");

  // Every key of the chain has the same history.
  EXPECT_EQ(call("GET", "/v1/keys/" + last + "/history", "", json_with(admin_)).body,
            std::string(last_body_).replace(last_body_.find(k.id), k.id.size(), last));
  // Never a secret, nor a keyed hash.
  for (const auto& secret : {k.key, next_secret, string_field(again.body, "key")}) {
    EXPECT_EQ(last_body_.find(secret), std::string::npos);
  }
  for (const auto& e : store_.events()) {
    if (e.type != "KeyCreated") continue;
    const auto hash = string_field(e.payload, "key_hash");
    EXPECT_EQ(last_body_.find(hash), std::string::npos);
  }
}

TEST_F(history_test, the_expiry_job_and_its_warning_are_told_too) {
  auto k = create(R"({"name":"short","environment":"test","expires_in_days":10})");
  clock_.advance(24h);
  EXPECT_EQ(keys_.record_expiry(store_, k.id), 1u);
  clock_.advance(10 * 24h);
  EXPECT_EQ(keys_.record_expiry(store_, k.id), 1u);
  feed();
  auto h = history(k.id);
  const auto words = strings(h["data"], "description");
  ASSERT_EQ(words.size(), 3u);
  const auto expires = domain::format_timestamp(clock_.now() - 10 * 24h - 24h + 10 * 24h);
  EXPECT_EQ(words[1],
            "Expiry warning: the key expires at " + expires + " (recorded by the expiry job).");
  EXPECT_EQ(words[2], "Expired at " + expires + " (recorded by the expiry job).");
  EXPECT_EQ(strings(h["data"], "actor")[2], "expiry-job");
  EXPECT_EQ(strings(h["data"], "source_ip")[2], "null");
}

TEST_F(history_test, it_pages_oldest_first) {
  auto k = create(R"({"name":"p","environment":"live"})");
  for (int i = 0; i < 4; ++i) {
    clock_.advance(1s);
    ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"name":"p)" + std::to_string(i) + R"("})",
                   json_with(admin_))
                  .status,
              200u);
  }
  std::vector<std::uint64_t> seqs;
  std::string query = "?limit=2";
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto page = history(k.id, {}, query);
    for (const auto& e : page["data"].GetArray()) seqs.push_back(e["global_seq"].GetUint64());
    if (page["next_cursor"].IsNull()) break;
    query = std::string("?limit=2&cursor=") + page["next_cursor"].GetString();
  }
  EXPECT_EQ(pages, 2) << "5 events, 2 a page";
  ASSERT_EQ(seqs.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(std::set<std::uint64_t>(seqs.begin(), seqs.end()).size(), 5u);
  // A cursor of another key's history, and nonsense, are refused.
  auto other = create(R"({"name":"o","environment":"live"})");
  const auto cursor =
      std::string(parse(call("GET", "/v1/keys/" + k.id + "/history?limit=1", "", json_with(admin_))
                            .body)["next_cursor"]
                      .GetString());
  for (const auto& target :
       {"/v1/keys/" + other.id + "/history?cursor=" + cursor,
        "/v1/keys/" + k.id + "/history?cursor=nope", "/v1/keys/" + k.id + "/history?limit=0",
        "/v1/keys/" + k.id + "/history?as_of=2026-01-01T00:00:00Z"}) {
    auto r = call("GET", target, "", json_with(admin_));
    EXPECT_EQ(r.status, 400u) << target;
  }
}

TEST_F(history_test, readers_of_the_key_with_keys_read_or_audit_read_and_nobody_else) {
  auto member = join(role::member, "m@acme.example");
  auto auditor = join(role::auditor, "au@acme.example");
  auto mine = create_as(member, R"({"name":"mine","environment":"live"})");
  auto theirs = create(R"({"name":"theirs","environment":"live"})");
  const auto status = [&](const std::string& id, headers_t who) {
    return call("GET", "/v1/keys/" + id + "/history", "", std::move(who)).status;
  };
  // An auditor (auditors create no keys; their role reads every key), and keys holding
  // audit:read only or keys:read only.
  EXPECT_EQ(status(theirs.id, as(auditor, false)), 200u);
  EXPECT_EQ(status(mine.id, as(auditor, false)), 200u);
  auto audit_key = create(R"({"name":"a","environment":"live","scopes":["audit:read"]})");
  auto read_key = create(R"({"name":"r","environment":"live","scopes":["keys:read"]})");
  EXPECT_EQ(status(theirs.id, json_with(audit_key.key)), 200u);
  EXPECT_EQ(status(mine.id, json_with(read_key.key)), 200u);
  // A key with neither scope.
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:write","users:read"]})");
  auto refused = call("GET", "/v1/keys/" + theirs.id + "/history", "", json_with(writer.key));
  EXPECT_EQ(refused.status, 403u);
  EXPECT_EQ(code_of(refused), "FORBIDDEN");
  // A member: their own key's history; anyone else's key does not exist for them.
  EXPECT_EQ(status(mine.id, as(member, false)), 200u);
  EXPECT_EQ(code_of(call("GET", "/v1/keys/" + theirs.id + "/history", "", as(member, false))),
            "NOT_FOUND");
  // Another workspace, an unknown id, a malformed one, no credentials.
  auto other = bootstrap("other", "ot");
  EXPECT_EQ(status(theirs.id, json_with(other.key)), 404u);
  EXPECT_EQ(status("key_0000000000000000000000", json_with(admin_)), 404u);
  EXPECT_EQ(status("nope", json_with(admin_)), 404u);
  EXPECT_EQ(status(theirs.id, {}), 401u);
}

TEST_F(history_test, another_workspaces_key_never_joins_a_chain) {
  // A key of workspace B whose KeyCreated claims to be rotated from A's key: the history of A's
  // key must not show it.
  auto a = create(R"({"name":"a","environment":"live"})");
  auto other = bootstrap("other", "ot");
  domain::key_created forged;
  forged.key_id = "key_ForgedForgedForgedForg";
  forged.workspace_id = other.workspace_id;
  forged.name = "forged";
  forged.env = domain::environment::live;
  forged.key_hash = std::string(64, 'a');
  forged.start = "ot_live_AAAA";
  forged.created_at = clock_.now();
  forged.rotated_from = a.id;
  store_.append(domain::key_stream_id(forged.key_id), 0,
                {{domain::new_uuid(random_), "KeyCreated", infra::encode_payload(forged)}},
                {"x", "req_x", "", ""}, domain::to_micros(clock_.now()));
  domain::key_rotated link;
  link.key_id = a.id;
  link.rotated_to = forged.key_id;
  link.rotated_at = clock_.now();
  link.grace_until = clock_.now();
  store_.append(domain::key_stream_id(a.id), 1,
                {{domain::new_uuid(random_), "KeyRotated", infra::encode_payload(link)}},
                {"x", "req_x", "", ""}, domain::to_micros(clock_.now()));
  feed();
  auto h = history(a.id);
  EXPECT_EQ(strings(h["data"], "type"), (std::vector<std::string>{"KeyCreated", "KeyRotated"}));
  EXPECT_EQ(h["chain"].Size(), 1u);
  EXPECT_EQ(last_body_.find("forged"), std::string::npos);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

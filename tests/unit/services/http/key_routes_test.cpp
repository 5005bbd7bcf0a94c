// Key management over HTTP: create, list, read, edit, rotate, revoke, self, request logs and failed
// attempts, and role-based authorization of every key endpoint.
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

TEST_F(routes_test, create_refuses_bad_input_with_clear_400s_and_appends_nothing) {
  const auto before = store_.head_seq();
  const std::pair<std::string, std::string> cases[] = {
      {R"({"environment":"live"})", "MISSING_FIELD"},
      {R"({"name":"x"})", "MISSING_FIELD"},
      {R"({"name":"x","environment":"prod"})", "INVALID_FIELD"},
      {R"({"name":7,"environment":"live"})", "INVALID_FIELD"},
      {R"({"name":"   ","environment":"live"})", "INVALID_FIELD"},
      {R"({"name":"a\u0007b","environment":"live"})", "INVALID_FIELD"},
      {R"({"name":")" + std::string(65, 'n') + R"(","environment":"live"})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","colour":"red"})", "UNKNOWN_FIELD"},
      {R"({"name":"x","environment":"live","scopes":["Bad Scope"]})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_at":null})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_at":"tomorrow"})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_at":"2020-01-01T00:00:00Z"})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_in_days":0})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_in_days":366})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_in_days":1.5})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","expires_in_days":5,"expires_at":"2027-01-01T00:00:00Z"})",
       "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","allowed_cidrs":["10.0.0.1/8"]})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","allowed_cidrs":["nowhere"]})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","postback_url":"http://example.com/hook"})",
       "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","postback_url":"https://u:p@example.com/"})",
       "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","rate_limit":{"limit":0,"window_seconds":60}})",
       "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","rate_limit":{"limit":5,"window_seconds":86401}})",
       "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","rate_limit":{"limit":5}})", "MISSING_FIELD"},
      {R"({"name":"x","environment":"live","rate_limit":{"limit":5,"window_seconds":9,"burst":1}})",
       "UNKNOWN_FIELD"},
      {R"({"name":"x","environment":"live","rate_limit":5})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live","off_the_record":"yes"})", "INVALID_FIELD"},
      {R"({"name":"x","environment":"live"} trailing)", "INVALID_JSON"},
  };
  for (const auto& [body, code] : cases) {
    auto r = call("POST", "/v1/keys", body, json_with(admin_));
    EXPECT_EQ(r.status, 400u) << body << " -> " << r.body;
    EXPECT_EQ(code_of(r), code) << body << " -> " << r.body;
    EXPECT_NE(string_field(r.body, "message"), "The request is malformed") << "a clear message";
  }
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_EQ(call("POST", "/v1/keys", R"({"name":"x","environment":"live"})",
                 {{"Authorization", admin_}, {"Content-Type", "text/plain"}})
                .status,
            415u);
}

TEST_F(routes_test, a_workspace_policy_shapes_names_and_expiry) {
  domain::key_policy strict;
  strict.names_allow_spaces = false;
  strict.allow_no_expiry = true;
  strict.max_lifespan = std::chrono::days(30);
  strict.default_lifespan = std::chrono::days(7);
  auto boot = workspaces_.bootstrap(store_, "strict", "st", {"bootstrap", "req_1", "", ""}, strict);
  ASSERT_TRUE(boot.ok());
  feed();
  const std::string admin(boot->admin_key.key.reveal());
  auto spaced =
      call("POST", "/v1/keys", R"({"name":"two words","environment":"live"})", json_with(admin));
  EXPECT_EQ(code_of(spaced), "INVALID_FIELD");
  EXPECT_NE(spaced.body.find("spaces"), std::string::npos);
  auto never =
      call("POST", "/v1/keys", R"({"name":"forever","environment":"live","expires_at":null})",
           json_with(admin));
  ASSERT_EQ(never.status, 201u) << never.body;
  EXPECT_TRUE(parse(never.body)["expires_at"].IsNull());
  EXPECT_EQ(code_of(call("POST", "/v1/keys",
                         R"({"name":"long","environment":"live","expires_in_days":31})",
                         json_with(admin))),
            "INVALID_FIELD");
  auto by_default =
      call("POST", "/v1/keys", R"({"name":"default","environment":"test"})", json_with(admin));
  ASSERT_EQ(by_default.status, 201u);
  EXPECT_EQ(string_field(by_default.body, "expires_at"),
            domain::format_timestamp(clock_.now() + std::chrono::days(7)));
  // The default workspace allows spaces.
  EXPECT_EQ(call("POST", "/v1/keys", R"({"name":"  ci deploy  ","environment":"live"})",
                 json_with(admin_))
                .status,
            201u);
}

TEST_F(routes_test, query_parameters_are_validated) {
  const std::pair<std::string, std::string> cases[] = {
      {"/v1/keys?colour=red", "UNKNOWN_FIELD"},
      {"/v1/keys?limit=0", "INVALID_FIELD"},
      {"/v1/keys?limit=101", "INVALID_FIELD"},
      {"/v1/keys?limit=ten", "INVALID_FIELD"},
      {"/v1/keys?limit=5&limit=6", "INVALID_FIELD"},
      {"/v1/keys?status=sleeping", "INVALID_FIELD"},
      {"/v1/keys?environment=prod", "INVALID_FIELD"},
      {"/v1/keys?cursor=garbage", "INVALID_FIELD"},
      {"/v1/keys?name=%zz", "INVALID_FIELD"},
      {"/v1/keys?name=%00", "INVALID_FIELD"},
      {"/v1/keys/self?x=1", "UNKNOWN_FIELD"},
      {"/v1/keys/" + admin_id_ + "/requests?cursor=nope", "INVALID_FIELD"},
      {"/v1/auth-failures?since=yesterday", "INVALID_FIELD"},
      {"/v1/auth-failures?limit=1000", "INVALID_FIELD"},
  };
  for (const auto& [target, code] : cases) {
    auto r = call("GET", target, "", json_with(admin_));
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_EQ(code_of(r), code) << target << " -> " << r.body;
  }
  EXPECT_EQ(call("GET", "/v1/keys?name=ad%6Din&limit=1&", "", json_with(admin_)).status, 200u);
}

TEST_F(routes_test, create_returns_the_whole_key_object_with_the_secret_once) {
  auto r = call("POST", "/v1/keys",
                R"({"name":" ci deploy ","environment":"live","scopes":["leads:read"],)"
                R"("expires_in_days":30,"allowed_cidrs":["203.0.113.7","2001:db8::/32"],)"
                R"("postback_url":"https://hooks.example.com/kl","off_the_record":true,)"
                R"("enabled":true,"rate_limit":{"limit":100,"window_seconds":60}})",
                json_with(admin_));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
  auto d = parse(r.body);
  const std::string id = d["id"].GetString();
  EXPECT_EQ(header_of(r, "Location"), "/v1/keys/" + id);
  EXPECT_EQ(std::string(d["name"].GetString()), "ci deploy");
  EXPECT_TRUE(domain::parse_key(d["key"].GetString()).ok());
  EXPECT_EQ(std::string(d["status"].GetString()), "active");
  EXPECT_EQ(std::string(d["expires_at"].GetString()),
            domain::format_timestamp(clock_.now() + std::chrono::days(30)));
  EXPECT_EQ(d["allowed_cidrs"].Size(), 2u);
  EXPECT_EQ(std::string(d["allowed_cidrs"][0].GetString()), "203.0.113.7/32");
  EXPECT_EQ(d["rate_limit"]["limit"].GetInt(), 100);
  EXPECT_TRUE(d["off_the_record"].GetBool());
  for (const char* null_field :
       {"updated_at", "revoked_at", "rotated_from", "rotated_to", "last_used_at", "last_used_ip"}) {
    EXPECT_TRUE(d[null_field].IsNull()) << null_field;
  }

  auto got = call("GET", "/v1/keys/" + id, "", json_with(admin_));
  ASSERT_EQ(got.status, 200u);
  EXPECT_FALSE(parse(got.body).HasMember("key")) << "the secret is never read again";
  EXPECT_EQ(got.body.find(d["key"].GetString()), std::string::npos);
}

TEST_F(routes_test, list_filters_and_pages_newest_first) {
  for (int i = 0; i < 5; ++i) {
    clock_.advance(1s);
    create(R"({"name":"batch )" + std::to_string(i) + R"(","environment":")" +
           (i % 2 ? "test" : "live") + R"("})");
  }
  auto all = parse(call("GET", "/v1/keys?name=BATCH&limit=2", "", json_with(admin_)).body);
  ASSERT_EQ(all["data"].Size(), 2u);
  EXPECT_EQ(std::string(all["data"][0]["name"].GetString()), "batch 4");
  EXPECT_EQ(std::string(all["data"][1]["name"].GetString()), "batch 3");
  ASSERT_TRUE(all["next_cursor"].IsString());
  auto page2 = parse(
      call("GET",
           std::string("/v1/keys?name=batch&limit=2&cursor=") + all["next_cursor"].GetString(), "",
           json_with(admin_))
          .body);
  ASSERT_EQ(page2["data"].Size(), 2u);
  EXPECT_EQ(std::string(page2["data"][0]["name"].GetString()), "batch 2");
  auto tests =
      parse(call("GET", "/v1/keys?name=batch&environment=test", "", json_with(admin_)).body);
  EXPECT_EQ(tests["data"].Size(), 2u);
  EXPECT_TRUE(tests["next_cursor"].IsNull());
  auto revoked = parse(call("GET", "/v1/keys?status=revoked", "", json_with(admin_)).body);
  EXPECT_EQ(revoked["data"].Size(), 0u);
}

TEST_F(routes_test, patch_changes_settings_and_a_no_op_appends_nothing) {
  auto k = create(R"({"name":"p","environment":"live","scopes":["leads:read"]})");
  auto r =
      call("PATCH", "/v1/keys/" + k.id,
           R"({"name":"renamed","scopes":["leads:write"],"postback_url":"https://x.example/h",)"
           R"("rate_limit":{"limit":5,"window_seconds":10}})",
           json_with(admin_));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto d = parse(r.body);
  EXPECT_EQ(std::string(d["name"].GetString()), "renamed");
  EXPECT_EQ(std::string(d["scopes"][0].GetString()), "leads:write");
  EXPECT_TRUE(d["updated_at"].IsString());

  const auto before = store_.head_seq();
  EXPECT_EQ(call("PATCH", "/v1/keys/" + k.id, "{}", json_with(admin_)).status, 200u);
  EXPECT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"name":"renamed"})", json_with(admin_)).status,
            200u);
  EXPECT_EQ(store_.head_seq(), before);

  auto removed = parse(call("PATCH", "/v1/keys/" + k.id,
                            R"({"postback_url":null,"rate_limit":null})", json_with(admin_))
                           .body);
  EXPECT_TRUE(removed["postback_url"].IsNull());
  EXPECT_TRUE(removed["rate_limit"].IsNull());

  EXPECT_EQ(
      code_of(call("PATCH", "/v1/keys/" + k.id, R"({"environment":"test"})", json_with(admin_))),
      "UNKNOWN_FIELD");
  EXPECT_EQ(code_of(call("PATCH", "/v1/keys/key_0000000000000000000000", "{}", json_with(admin_))),
            "NOT_FOUND");
  // Escalation through PATCH is refused like at create.
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:write"]})");
  auto escalate = call("PATCH", "/v1/keys/" + writer.id, R"({"scopes":["keys:write","keys:read"]})",
                       json_with(writer.key));
  EXPECT_EQ(escalate.status, 403u);

  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u);
  EXPECT_EQ(code_of(call("PATCH", "/v1/keys/" + k.id, R"({"name":"late"})", json_with(admin_))),
            "KEY_REVOKED");
  EXPECT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u)
      << "revoking twice is fine";
}

TEST_F(routes_test, rotate_links_both_keys_and_the_old_one_expires_after_the_grace_period) {
  auto old_key = create(R"({"name":"rot","environment":"live","scopes":["leads:read"]})");
  auto r = call("POST", "/v1/keys/" + old_key.id + "/rotate", R"({"grace_period_seconds":60})",
                json_with(admin_));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto d = parse(r.body);
  const std::string new_id = d["id"].GetString();
  const std::string new_key = d["key"].GetString();
  EXPECT_EQ(header_of(r, "Location"), "/v1/keys/" + new_id);
  EXPECT_EQ(std::string(d["rotated_from"].GetString()), old_key.id);
  EXPECT_EQ(std::string(d["name"].GetString()), "rot");
  auto old_state = parse(call("GET", "/v1/keys/" + old_key.id, "", json_with(admin_)).body);
  EXPECT_EQ(std::string(old_state["rotated_to"].GetString()), new_id);

  EXPECT_EQ(check(old_key.key).status, 200u) << "still inside the grace period";
  EXPECT_EQ(check(new_key).status, 200u);
  clock_.advance(61s);
  auto expired = check(old_key.key);
  EXPECT_EQ(expired.status, 401u);
  EXPECT_EQ(code_of(expired), "EXPIRED");

  EXPECT_EQ(code_of(call("POST", "/v1/keys/" + old_key.id + "/rotate", "", json_with(admin_))),
            "KEY_EXPIRED");
  // Empty body: the default grace; only the newest of a chain rotates.
  auto again = call("POST", "/v1/keys/" + new_id + "/rotate", "", {{"Authorization", admin_}});
  ASSERT_EQ(again.status, 201u) << again.body;
  EXPECT_EQ(code_of(call("POST", "/v1/keys/" + new_id + "/rotate", "", json_with(admin_))),
            "KEY_ALREADY_ROTATED");
  EXPECT_EQ(code_of(call("POST", "/v1/keys/" + new_id + "/rotate",
                         R"({"grace_period_seconds":2592001})", json_with(admin_))),
            "INVALID_FIELD");
}

TEST_F(routes_test, rotating_cannot_mint_management_scopes_the_caller_lacks) {
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:write"]})");
  const auto before = store_.head_seq();
  auto r = call("POST", "/v1/keys/" + admin_id_ + "/rotate", "", {{"Authorization", writer.key}});
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(code_of(r), "FORBIDDEN");
  EXPECT_EQ(store_.head_seq(), before);
}

TEST_F(routes_test, self_is_the_callers_key_and_another_workspace_is_invisible) {
  auto self = parse(call("GET", "/v1/keys/self", "", {{"Authorization", admin_}}).body);
  EXPECT_EQ(std::string(self["id"].GetString()), admin_id_);
  auto other = workspaces_.bootstrap(store_, "other", "ot", {"bootstrap", "req_2", "", ""});
  ASSERT_TRUE(other.ok());
  feed();
  const std::string other_admin(other->admin_key.key.reveal());
  EXPECT_EQ(code_of(call("GET", "/v1/keys/" + admin_id_, "", json_with(other_admin))), "NOT_FOUND");
  EXPECT_EQ(code_of(call("DELETE", "/v1/keys/" + admin_id_, "", json_with(other_admin))),
            "NOT_FOUND");
  auto list = parse(call("GET", "/v1/keys", "", json_with(other_admin)).body);
  ASSERT_EQ(list["data"].Size(), 1u);
  EXPECT_EQ(std::string(list["data"][0]["id"].GetString()), other->admin_key.state.key_id);
}

TEST_F(routes_test, last_use_and_the_request_log_come_from_telemetry) {
  auto k = create(R"({"name":"logged","environment":"live"})");
  auto quiet = create(R"({"name":"quiet","environment":"live","off_the_record":true})");
  for (int i = 0; i < 3; ++i) {
    clock_.advance(1s);
    // i + 1 requests within this second from one address: one entry counting them.
    for (int n = 0; n <= i; ++n) {
      EXPECT_EQ(check(k.key, {}, "/v1/check", "198.51.100.4").status, 200u);
    }
    EXPECT_EQ(check(quiet.key).status, 200u);
  }
  // The same second from another address: an entry of its own.
  EXPECT_EQ(check(k.key, {}, "/v1/check", "2001:db8::4").status, 200u);
  usage_.flush(telemetry_);
  auto page =
      parse(call("GET", "/v1/keys/" + k.id + "/requests?limit=2", "", json_with(admin_)).body);
  ASSERT_EQ(page["data"].Size(), 2u);
  std::map<std::string, std::uint64_t> newest;  // ip -> count, for the latest second
  for (const auto& e : page["data"].GetArray()) {
    EXPECT_EQ(std::string(e["at"].GetString()), domain::format_timestamp(clock_.now()));
    EXPECT_TRUE(e["valid"].GetBool());
    EXPECT_EQ(std::string(e["code"].GetString()), "VALID");
    newest[e["ip"].GetString()] = e["count"].GetUint64();
  }
  EXPECT_EQ(newest,
            (std::map<std::string, std::uint64_t>{{"198.51.100.4", 3}, {"2001:db8::4", 1}}));
  ASSERT_TRUE(page["next_cursor"].IsString());
  auto rest =
      parse(call("GET", "/v1/keys/" + k.id + "/requests?cursor=" + page["next_cursor"].GetString(),
                 "", json_with(admin_))
                .body);
  ASSERT_EQ(rest["data"].Size(), 2u);  // newest first: 2 requests in the second before, then 1
  EXPECT_EQ(rest["data"][0]["count"].GetUint64(), 2u);
  EXPECT_EQ(std::string(rest["data"][0]["at"].GetString()),
            domain::format_timestamp(clock_.now() - 1s));
  EXPECT_EQ(rest["data"][1]["count"].GetUint64(), 1u);
  EXPECT_EQ(std::string(rest["data"][1]["ip"].GetString()), "198.51.100.4");
  EXPECT_TRUE(rest["next_cursor"].IsNull());

  auto silent =
      parse(call("GET", "/v1/keys/" + quiet.id + "/requests", "", json_with(admin_)).body);
  EXPECT_EQ(silent["data"].Size(), 0u);
  auto quiet_key = parse(call("GET", "/v1/keys/" + quiet.id, "", json_with(admin_)).body);
  EXPECT_EQ(std::string(quiet_key["last_used_at"].GetString()),
            domain::format_timestamp(clock_.now()));
  EXPECT_EQ(std::string(quiet_key["last_used_ip"].GetString()), "127.0.0.1");
}

TEST_F(routes_test, failed_attempts_are_counted_per_source_and_code) {
  const auto unknown = domain::generate_key("kl", domain::environment::live, random_);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(check(unknown, {}, "/v1/check", "192.0.2.9").status, 401u);
  usage_.flush(telemetry_);
  auto d = parse(call("GET", "/v1/auth-failures", "", json_with(admin_)).body);
  ASSERT_EQ(d["data"].Size(), 1u) << call("GET", "/v1/auth-failures", "", json_with(admin_)).body;
  EXPECT_EQ(std::string(d["data"][0]["source_ip"].GetString()), "192.0.2.9");
  EXPECT_EQ(std::string(d["data"][0]["code"].GetString()), "NOT_FOUND");
  EXPECT_EQ(d["data"][0]["count"].GetInt(), 3);
  auto later = parse(
      call("GET", "/v1/auth-failures?since=2100-01-01T00:00:00Z", "", json_with(admin_)).body);
  EXPECT_EQ(later["data"].Size(), 0u);
}

TEST_F(routes_test,
       a_cidr_key_is_checked_against_the_forwarded_client_only_behind_a_trusted_proxy) {
  auto fenced = create(R"({"name":"f","environment":"live","allowed_cidrs":["203.0.113.0/24"]})");
  const headers_t forwarded = {{"Authorization", fenced.key}, {"X-Forwarded-For", "203.0.113.5"}};
  // No trusted proxies: the header is the client's own claim and is ignored.
  EXPECT_EQ(code_of(call("GET", "/v1/check", "", forwarded, "127.0.0.1")), "FORBIDDEN_IP");
  const auto behind = handler_with(cidrs({"127.0.0.1/32"}));
  EXPECT_EQ(call_with(behind, "GET", "/v1/check", "", forwarded, "127.0.0.1").status, 200u);
  // A peer that is not the proxy cannot use the header either.
  EXPECT_EQ(code_of(call_with(behind, "GET", "/v1/check", "", forwarded, "192.0.2.1")),
            "FORBIDDEN_IP");
  const headers_t spoofed = {{"Authorization", fenced.key},
                             {"X-Forwarded-For", "203.0.113.5, 192.0.2.1"}};
  EXPECT_EQ(code_of(call_with(behind, "GET", "/v1/check", "", spoofed, "127.0.0.1")),
            "FORBIDDEN_IP");
}

TEST_F(routes_test, each_role_reads_and_changes_exactly_the_keys_the_policy_allows) {
  // Someone else's key for every row: owned by a member, so admins may rotate it too.
  auto victim = join(role::member, "victim@acme.example");
  struct row {
    role r;
    unsigned read;    ///< GET another's key (and its presence in the list)
    unsigned change;  ///< PATCH another's key (rotate and DELETE answer alike, as 201/204)
    unsigned create;
    unsigned audit;  ///< the failed-attempts list
  };
  const row rows[] = {
      {role::owner, 200, 200, 201, 200},
      {role::admin, 200, 200, 201, 200},
      {role::member, 404, 404, 201, 403},
      {role::auditor, 200, 403, 403, 200},
  };
  int n = 0;
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(domain::to_string(row.r)));
    const auto p =
        row.r == role::owner ? owner() : join(row.r, "p" + std::to_string(n++) + "@acme.example");
    auto theirs = create_as(victim, R"({"name":"victim key","environment":"live"})");

    auto got = call("GET", "/v1/keys/" + theirs.id, "", as(p, false));
    EXPECT_EQ(got.status, row.read) << got.body;
    auto list = call("GET", "/v1/keys?limit=100", "", as(p, false));
    ASSERT_EQ(list.status, 200u) << list.body;
    EXPECT_EQ(list.body.find(theirs.id) != std::string::npos, row.read == 200) << list.body;
    const auto logged = call("GET", "/v1/keys/" + theirs.id + "/requests", "", as(p, false));
    EXPECT_EQ(logged.status, row.read == 404 ? 404u : row.audit) << logged.body;
    EXPECT_EQ(call("GET", "/v1/auth-failures", "", as(p, false)).status, row.audit);

    EXPECT_EQ(call("PATCH", "/v1/keys/" + theirs.id, R"({"name":"renamed"})", as(p)).status,
              row.change);
    const auto before = store_.head_seq();
    auto rotated = call("POST", "/v1/keys/" + theirs.id + "/rotate", "", as(p));
    EXPECT_EQ(rotated.status, row.change == 200 ? 201u : row.change) << rotated.body;
    if (rotated.status == 201) {
      // The new key belongs to the old key's owner, not to whoever rotated it.
      EXPECT_EQ(string_field(rotated.body, "owner_user_id"), victim.id);
      theirs.id = string_field(rotated.body, "id");
    } else {
      EXPECT_EQ(store_.head_seq(), before) << "a refused change appends nothing";
    }
    EXPECT_EQ(call("DELETE", "/v1/keys/" + theirs.id, "", as(p)).status,
              row.change == 200 ? 204u : row.change);

    auto mine = call("POST", "/v1/keys", R"({"name":"mine","environment":"test"})", as(p));
    EXPECT_EQ(mine.status, row.create) << mine.body;
    if (mine.status != 201) continue;
    // Their own key: everything (but the audit log, which needs audit.read).
    const auto id = string_field(mine.body, "id");
    EXPECT_EQ(string_field(mine.body, "owner_user_id"), p.id);
    EXPECT_EQ(call("GET", "/v1/keys/" + id, "", as(p, false)).status, 200u);
    EXPECT_EQ(call("PATCH", "/v1/keys/" + id, R"({"enabled":false})", as(p)).status, 200u);
    EXPECT_EQ(call("GET", "/v1/keys/" + id + "/requests", "", as(p, false)).status, row.audit);
    EXPECT_EQ(
        call("POST", "/v1/keys/" + id + "/rotate", R"({"grace_period_seconds":0})", as(p)).status,
        201u);
  }
}

TEST_F(routes_test, a_members_list_holds_only_their_keys_and_pages_through_them) {
  auto member = join(role::member, "m@acme.example");
  for (int i = 0; i < 5; ++i) {
    clock_.advance(1s);
    create(R"({"name":"team )" + std::to_string(i) + R"(","environment":"live"})");
    create_as(member, R"({"name":"mine )" + std::to_string(i) + R"(","environment":"live"})");
  }
  std::vector<std::string> names;
  std::string target = "/v1/keys?limit=2";
  for (int pages = 0; pages < 10; ++pages) {
    auto page = parse(call("GET", target, "", as(member, false)).body);
    for (const auto& k : page["data"].GetArray()) names.emplace_back(k["name"].GetString());
    if (page["next_cursor"].IsNull()) break;
    target = std::string("/v1/keys?limit=2&cursor=") + page["next_cursor"].GetString();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"mine 4", "mine 3", "mine 2", "mine 1", "mine 0"}));
  // The same through the member's own key.
  auto key = create_as(member, R"({"name":"cli","environment":"live","scopes":["keys:read"]})");
  auto listed = parse(call("GET", "/v1/keys?limit=100", "", json_with(key.key)).body);
  EXPECT_EQ(listed["data"].Size(), 6u);
  EXPECT_EQ(call("GET", "/v1/keys/" + admin_id_, "", json_with(key.key)).status, 404u);
}

TEST_F(routes_test, key_scopes_must_be_in_the_catalog_and_within_the_creators_role) {
  auto member = join(role::member, "m@acme.example");
  const auto before = store_.head_seq();
  auto unknown = call("POST", "/v1/keys",
                      R"({"name":"x","environment":"live","scopes":["orders:read"]})", as(member));
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(code_of(unknown), "INVALID_FIELD");
  EXPECT_NE(unknown.body.find("orders:read"), std::string::npos) << unknown.body;
  auto beyond = call("POST", "/v1/keys",
                     R"({"name":"x","environment":"live","scopes":["users:read"]})", as(member));
  EXPECT_EQ(beyond.status, 403u);
  EXPECT_EQ(code_of(beyond), "FORBIDDEN");
  EXPECT_EQ(store_.head_seq(), before);
  auto fine = call("POST", "/v1/keys",
                   R"({"name":"x","environment":"live","scopes":["leads:write","keys:write"]})",
                   as(member));
  ASSERT_EQ(fine.status, 201u) << fine.body;
  EXPECT_EQ(scopes_of(fine.body, "effective_scopes"),
            (std::vector<std::string>{"leads:write", "keys:write"}));
  // A key never mints a management scope it does not hold, even where its owner could.
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:write"]})");
  EXPECT_EQ(code_of(call("POST", "/v1/keys",
                         R"({"name":"x","environment":"live","scopes":["users:read"]})",
                         json_with(writer.key))),
            "FORBIDDEN");
  EXPECT_EQ(call("POST", "/v1/keys",
                 R"({"name":"x","environment":"live","scopes":["workspace:admin","leads:read"]})",
                 json_with(admin_))
                .status,
            201u);
  // PATCH follows the same rules.
  EXPECT_EQ(code_of(call("PATCH", "/v1/keys/" + string_field(fine.body, "id"),
                         R"({"scopes":["audit:read"]})", as(member))),
            "FORBIDDEN");
}

TEST_F(routes_test, only_an_owner_rotates_an_owners_key_that_holds_users_write) {
  auto admin = join(role::admin, "a@acme.example");
  const auto before = store_.head_seq();
  // The owner's admin key holds users:write: its new secret would act with an owner's rights.
  auto r = call("POST", "/v1/keys/" + admin_id_ + "/rotate", "", as(admin));
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(code_of(r), "FORBIDDEN");
  EXPECT_EQ(store_.head_seq(), before);
  // The admin still manages it otherwise, and rotates the owner's other keys.
  EXPECT_EQ(call("PATCH", "/v1/keys/" + admin_id_, R"({"name":"owner key"})", as(admin)).status,
            200u);
  auto plain = create(R"({"name":"p","environment":"live","scopes":["leads:read","keys:write"]})");
  EXPECT_EQ(call("POST", "/v1/keys/" + plain.id + "/rotate", "", as(admin)).status, 201u);
  EXPECT_EQ(call("POST", "/v1/keys/" + admin_id_ + "/rotate", "", as(owner())).status, 201u);
}

TEST_F(routes_test, audit_reads_need_audit_read_on_a_key) {
  auto audit = create(R"({"name":"a","environment":"live","scopes":["audit:read"]})");
  auto reader = create(R"({"name":"r","environment":"live","scopes":["keys:read"]})");
  EXPECT_EQ(call("GET", "/v1/auth-failures", "", json_with(audit.key)).status, 200u);
  EXPECT_EQ(code_of(call("GET", "/v1/auth-failures", "", json_with(reader.key))), "FORBIDDEN");
  EXPECT_EQ(call("GET", "/v1/keys/" + reader.id + "/requests", "", json_with(audit.key)).status,
            200u);
  EXPECT_EQ(code_of(call("GET", "/v1/keys/" + audit.id + "/requests", "", json_with(reader.key))),
            "FORBIDDEN");
}

}  // namespace
}  // namespace keyledger::services::routes_testing

// People over HTTP: sessions (cookies, CSRF), invitations and passwords, roles and removal.
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

TEST_F(routes_test, login_sets_a_strict_cookie_and_answers_the_csrf_token) {
  testing::internal::CaptureStderr();
  auto r = call("POST", "/v1/sessions",
                R"({"email":"OWNER@acme.example","password":")" + owner_password_ + R"("})",
                {{"Content-Type", "application/json"}});
  const auto logged = testing::internal::GetCapturedStderr();
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto cookie = header_of(r, "Set-Cookie");
  const auto value = cookie.substr(0, cookie.find(';'));
  ASSERT_TRUE(value.starts_with("keyledger_session="));
  EXPECT_EQ(value.size(), std::string("keyledger_session=").size() + 43);
  EXPECT_EQ(cookie.substr(value.size()), "; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax; Secure");
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
  auto d = parse(r.body);
  EXPECT_EQ(std::string(d["user_id"].GetString()), owner_id_);
  EXPECT_EQ(std::string(d["workspace_id"].GetString()), workspace_id_);
  EXPECT_EQ(std::string(d["role"].GetString()), "owner");
  EXPECT_EQ(std::string(d["csrf_token"].GetString()).size(), 43u);
  EXPECT_EQ(std::string(d["expires_at"].GetString()),
            domain::format_timestamp(clock_.now() + 30min));
  // Neither the password nor the session id reaches the log or the body.
  EXPECT_EQ(logged.find(owner_password_), std::string::npos);
  EXPECT_EQ(logged.find(value.substr(18)), std::string::npos);
  EXPECT_EQ(r.body.find(value.substr(18)), std::string::npos);

  // On loopback the cookie goes without Secure (plain http in development).
  auto local = call_with(handler_with({}, true), "POST", "/v1/sessions",
                         R"({"email":"owner@acme.example","password":")" + owner_password_ +
                             R"(","workspace":"acme"})",
                         {{"Content-Type", "application/json"}});
  ASSERT_EQ(local.status, 201u) << local.body;
  EXPECT_EQ(header_of(local, "Set-Cookie").find("Secure"), std::string::npos);
  EXPECT_NE(header_of(local, "Set-Cookie").find("; HttpOnly; SameSite=Lax"), std::string::npos);
}

TEST_F(routes_test, the_current_session_is_read_kept_alive_and_ended) {
  auto p = owner();
  auto current = call("GET", "/v1/sessions/current", "", {{"Cookie", "theme=dark; " + p.cookie}});
  ASSERT_EQ(current.status, 200u) << current.body;
  auto d = parse(current.body);
  EXPECT_EQ(std::string(d["user_id"].GetString()), owner_id_);
  EXPECT_EQ(std::string(d["workspace_id"].GetString()), workspace_id_);
  EXPECT_EQ(std::string(d["role"].GetString()), "owner");
  EXPECT_EQ(std::string(d["email"].GetString()), "owner@acme.example");

  // Each use moves the idle limit; the absolute limit stays.
  for (int i = 0; i < 3; ++i) {
    clock_.advance(20min);
    EXPECT_EQ(call("GET", "/v1/sessions/current", "", as(p, false)).status, 200u) << i;
  }
  clock_.advance(31min);
  EXPECT_EQ(code_of(call("GET", "/v1/sessions/current", "", as(p, false))), "UNAUTHORIZED");

  auto q = owner();
  for (int i = 0; i < 36; ++i) {
    clock_.advance(20min);
    if (call("GET", "/v1/keys", "", as(q, false)).status != 200) break;
  }
  EXPECT_EQ(call("GET", "/v1/keys", "", as(q, false)).status, 401u) << "12 h at most";

  auto r = owner();
  EXPECT_EQ(code_of(call("DELETE", "/v1/sessions/current", "", as(r, false))), "CSRF_FAILED");
  auto out = call("DELETE", "/v1/sessions/current", "", as(r));
  EXPECT_EQ(out.status, 204u);
  EXPECT_EQ(header_of(out, "Set-Cookie"),
            "keyledger_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
  EXPECT_EQ(call("GET", "/v1/sessions/current", "", as(r, false)).status, 401u);
  EXPECT_EQ(call("GET", "/v1/keys", "", as(r, false)).status, 401u);
  // The route needs a session: a key is not one.
  EXPECT_EQ(call("GET", "/v1/sessions/current", "", {{"Authorization", admin_}}).status, 401u);
  EXPECT_EQ(call("GET", "/v1/keys/self", "", as(owner(), false)).status, 401u);
}

TEST_F(routes_test, cookie_writes_need_the_csrf_token_and_a_key_wins_over_a_cookie) {
  auto member = join(role::member, "m@acme.example");
  const auto before = store_.head_seq();
  const std::string body = R"({"name":"x","environment":"live"})";
  auto none = call("POST", "/v1/keys", body, as(member, false));
  EXPECT_EQ(none.status, 403u);
  EXPECT_EQ(code_of(none), "CSRF_FAILED");
  auto other = owner();
  auto wrong = as(member, false);
  wrong.emplace_back("X-CSRF-Token", other.csrf);
  EXPECT_EQ(code_of(call("POST", "/v1/keys", body, wrong)), "CSRF_FAILED");
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_EQ(call("POST", "/v1/keys", body, as(member)).status, 201u);
  // A session cookie on its own, or a forged one, is not authentication.
  EXPECT_EQ(call("GET", "/v1/keys", "", {{"Cookie", "keyledger_session=forged"}}).status, 401u);
  EXPECT_EQ(call("GET", "/v1/keys", "",
                 {{"Cookie", "keyledger_session=" + domain::new_session_token(random_)}})
                .status,
            401u);
  // Authorization wins: the admin key sees every key and writes without a CSRF token.
  auto both = as(member, false);
  both.emplace_back("Authorization", "Bearer " + admin_);
  EXPECT_NE(call("GET", "/v1/keys/" + admin_id_, "", both).status, 404u);
  EXPECT_EQ(call("POST", "/v1/keys", body, both).status, 201u);
  auto bad_key = as(member);
  bad_key.emplace_back("Authorization", "Bearer kl_live_nope");
  EXPECT_EQ(call("GET", "/v1/keys", "", bad_key).status, 401u);
}

TEST_F(routes_test, failed_logins_look_alike_are_counted_and_throttled) {
  const auto attempt = [&](const std::string& email, const std::string& password,
                           const std::string& ip = "192.0.2.50") {
    return call("POST", "/v1/sessions",
                R"({"email":")" + email + R"(","password":")" + password + R"("})",
                {{"Content-Type", "application/json"}}, ip);
  };
  auto wrong = attempt("owner@acme.example", "not the password at all");
  auto unknown = attempt("nobody@acme.example", "not the password at all");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(code_of(wrong), "INVALID_CREDENTIALS");
  EXPECT_EQ(wrong.body, unknown.body) << "no hint whether the account exists";
  EXPECT_EQ(header_of(wrong, "Set-Cookie"), "(absent)");
  usage_.flush(telemetry_);
  auto failures = parse(call("GET", "/v1/auth-failures", "", json_with(admin_)).body);
  ASSERT_EQ(failures["data"].Size(), 1u);
  EXPECT_EQ(std::string(failures["data"][0]["code"].GetString()), "LOGIN_FAILED");
  EXPECT_EQ(std::string(failures["data"][0]["source_ip"].GetString()), "192.0.2.50");
  EXPECT_EQ(failures["data"][0]["count"].GetInt(), 1);

  for (int i = 0; i < 9; ++i) attempt("owner@acme.example", "still wrong!!", "192.0.2.51");
  auto throttled = attempt("owner@acme.example", owner_password_, "192.0.2.52");
  EXPECT_EQ(throttled.status, 429u) << "the account is throttled, whatever the address";
  EXPECT_EQ(code_of(throttled), "RATE_LIMITED");
  EXPECT_GT(parse(throttled.body)["retry_after"].GetInt(), 0);
  EXPECT_NE(header_of(throttled, "Retry-After"), "(absent)");

  EXPECT_EQ(code_of(call("POST", "/v1/sessions", R"({"email":"a@b.example"})",
                         {{"Content-Type", "application/json"}})),
            "MISSING_FIELD");
  EXPECT_EQ(code_of(call("POST", "/v1/sessions", R"({"email":"a@b.example","password":7})",
                         {{"Content-Type", "application/json"}})),
            "INVALID_FIELD");
}

TEST_F(routes_test, an_invitation_answers_a_one_time_token_that_sets_the_password) {
  testing::internal::CaptureStderr();
  auto r = call("POST", "/v1/users",
                R"({"email":" Bob@Acme.example ","display_name":" Bob ","role":"member"})",
                json_with(admin_));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
  auto d = parse(r.body);
  const std::string id = d["id"].GetString();
  const std::string token = d["invitation_token"].GetString();
  EXPECT_EQ(header_of(r, "Location"), "/v1/users/" + id);
  EXPECT_EQ(std::string(d["email"].GetString()), "bob@acme.example");
  EXPECT_EQ(std::string(d["display_name"].GetString()), "Bob");
  EXPECT_EQ(std::string(d["role"].GetString()), "member");
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(std::string(d["invitation_expires_at"].GetString()),
            domain::format_timestamp(clock_.now() + std::chrono::days(7)));
  for (const auto& e : store_.events()) EXPECT_EQ(e.payload.find(token), std::string::npos);

  auto user = parse(call("GET", "/v1/users/" + id, "", json_with(admin_)).body);
  EXPECT_FALSE(user["password_set"].GetBool());
  EXPECT_EQ(code_of(call("POST", "/v1/users",
                         R"({"email":"bob@acme.example","display_name":"B","role":"admin"})",
                         json_with(admin_))),
            "ALREADY_MEMBER");

  const auto set = [&](const std::string& t, const std::string& password) {
    return call("POST", "/v1/users/set-password",
                R"({"token":")" + t + R"(","password":")" + password + R"("})",
                {{"Content-Type", "application/json"}});
  };
  EXPECT_EQ(code_of(set(domain::new_session_token(random_), "long enough password")),
            "INVALID_TOKEN");
  EXPECT_EQ(code_of(set("short", "long enough password")), "INVALID_TOKEN");
  EXPECT_EQ(code_of(set(token, "too short")), "WEAK_PASSWORD");
  EXPECT_EQ(set(token, "long enough password").status, 204u);
  EXPECT_EQ(code_of(set(token, "another long password")), "INVALID_TOKEN") << "one time only";
  const auto logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged.find(token), std::string::npos);
  EXPECT_EQ(logged.find("long enough password"), std::string::npos);

  feed();
  EXPECT_TRUE(
      parse(call("GET", "/v1/users/" + id, "", json_with(admin_)).body)["password_set"].GetBool());
  auto bob = log_in({id, "bob@acme.example", "long enough password", "", ""});
  EXPECT_FALSE(bob.cookie.empty());

  // Validation.
  const std::pair<std::string, std::string> bad[] = {
      {R"({"email":"x@acme.example","display_name":"X","role":"boss"})", "INVALID_FIELD"},
      {R"({"email":"not an email","display_name":"X","role":"member"})", "INVALID_FIELD"},
      {R"({"email":"x@acme.example","display_name":"","role":"member"})", "INVALID_FIELD"},
      {R"({"display_name":"X","role":"member"})", "MISSING_FIELD"},
      {R"({"email":"x@acme.example","role":"member"})", "MISSING_FIELD"},
      {R"({"email":"x@acme.example","display_name":"X"})", "MISSING_FIELD"},
      {R"({"email":"x@acme.example","display_name":"X","role":"member","colour":1})",
       "UNKNOWN_FIELD"},
  };
  for (const auto& [body, code] : bad) {
    EXPECT_EQ(code_of(call("POST", "/v1/users", body, json_with(admin_))), code) << body;
  }
}

TEST_F(routes_test, who_may_invite_change_and_remove_whom) {
  auto admin = join(role::admin, "a@acme.example");
  auto member = join(role::member, "m@acme.example");
  auto auditor = join(role::auditor, "u@acme.example");
  // Reading the people: not members.
  EXPECT_EQ(call("GET", "/v1/users", "", as(auditor, false)).status, 200u);
  EXPECT_EQ(call("GET", "/v1/users", "", as(member, false)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/users/" + member.id, "", as(member, false)).status, 403u);
  auto list = parse(call("GET", "/v1/users", "", as(admin, false)).body);
  ASSERT_EQ(list["data"].Size(), 4u);
  EXPECT_EQ(std::string(list["data"][0]["email"].GetString()), "a@acme.example");
  EXPECT_EQ(std::string(list["data"][0]["role"].GetString()), "admin");
  EXPECT_TRUE(list["data"][0]["password_set"].GetBool());

  const std::string invite = R"({"email":"new@acme.example","display_name":"N","role":"owner"})";
  EXPECT_EQ(call("POST", "/v1/users", invite, as(member)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/users", invite, as(auditor)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/users", invite, as(admin)).status, 403u) << "only owners make owners";
  EXPECT_EQ(call("PATCH", "/v1/users/" + owner_id_, R"({"role":"member"})", as(admin)).status,
            403u);
  EXPECT_EQ(call("DELETE", "/v1/users/" + owner_id_, "", as(admin)).status, 403u);
  EXPECT_EQ(call("PATCH", "/v1/users/" + member.id, R"({"role":"admin"})", as(auditor)).status,
            403u);

  auto changed = call("PATCH", "/v1/users/" + member.id, R"({"role":"auditor"})", as(admin));
  ASSERT_EQ(changed.status, 200u) << changed.body;
  EXPECT_EQ(string_field(changed.body, "role"), "auditor");
  EXPECT_EQ(string_field(changed.body, "email"), "m@acme.example");
  // Their session ended with the change: they log in again with the new role.
  EXPECT_EQ(call("GET", "/v1/sessions/current", "", as(member, false)).status, 401u);
  EXPECT_EQ(
      string_field(call("GET", "/v1/sessions/current", "", as(log_in(member), false)).body, "role"),
      "auditor");

  // The last owner stays.
  auto me = owner();
  EXPECT_EQ(code_of(call("PATCH", "/v1/users/" + owner_id_, R"({"role":"admin"})", as(me))),
            "LAST_OWNER");
  EXPECT_EQ(code_of(call("DELETE", "/v1/users/" + owner_id_, "", as(me))), "LAST_OWNER");
  EXPECT_EQ(call("PATCH", "/v1/users/" + admin.id, R"({"role":"owner"})", as(me)).status, 200u);
  EXPECT_EQ(call("PATCH", "/v1/users/" + owner_id_, R"({"role":"admin"})", as(me)).status, 200u)
      << "another owner remains";

  EXPECT_EQ(
      code_of(call("PATCH", "/v1/users/" + member.id, R"({"role":"boss"})", json_with(admin_))),
      "INVALID_FIELD");
  EXPECT_EQ(code_of(call("PATCH", "/v1/users/" + member.id, "{}", json_with(admin_))),
            "MISSING_FIELD");
  for (const std::string id : {std::string("usr_0000000000000000000000"), std::string("nobody")}) {
    EXPECT_EQ(code_of(call("GET", "/v1/users/" + id, "", json_with(admin_))), "NOT_FOUND");
    EXPECT_EQ(code_of(call("PATCH", "/v1/users/" + id, R"({"role":"member"})", json_with(admin_))),
              "NOT_FOUND");
    EXPECT_EQ(code_of(call("DELETE", "/v1/users/" + id, "", json_with(admin_))), "NOT_FOUND");
  }
}

TEST_F(routes_test, removing_a_user_disables_their_keys_and_ends_their_sessions) {
  auto member = join(role::member, "m@acme.example");
  auto key = create_as(member, R"({"name":"theirs","environment":"live","scopes":["leads:read"]})");
  EXPECT_EQ(check(key.key).status, 200u);
  auto removed = call("DELETE", "/v1/users/" + member.id, "", json_with(admin_));
  ASSERT_EQ(removed.status, 204u) << removed.body;
  auto refused = check(key.key);
  EXPECT_EQ(refused.status, 401u);
  EXPECT_EQ(code_of(refused), "DISABLED");
  auto listed = parse(call("GET", "/v1/keys/" + key.id, "", json_with(admin_)).body);
  EXPECT_EQ(std::string(listed["status"].GetString()), "disabled");
  EXPECT_EQ(std::string(listed["disabled_reason"].GetString()), "owner_removed");
  EXPECT_TRUE(listed["enabled"].GetBool());
  EXPECT_EQ(listed["effective_scopes"].Size(), 0u);
  auto page = call("GET", "/v1/keys?status=disabled", "", json_with(admin_));
  EXPECT_NE(page.body.find(R"("disabled_reason":"owner_removed")"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/keys", "", as(member, false)).status, 401u);
  EXPECT_EQ(code_of(call("POST", "/v1/sessions",
                         R"({"email":"m@acme.example","password":")" + member.password + R"("})",
                         {{"Content-Type", "application/json"}})),
            "INVALID_CREDENTIALS");
  EXPECT_EQ(code_of(call("GET", "/v1/users/" + member.id, "", json_with(admin_))), "NOT_FOUND");
  // A disabled key of a member still says "disabled".
  auto off = create(R"({"name":"off","environment":"live","enabled":false})");
  EXPECT_EQ(string_field(call("GET", "/v1/keys/" + off.id, "", json_with(admin_)).body,
                         "disabled_reason"),
            "disabled");
}

TEST_F(routes_test, a_demotion_narrows_the_owners_keys_at_once) {
  auto admin = join(role::admin, "a@acme.example");
  auto key = create_as(admin, R"({"name":"wide","environment":"live","scopes":)"
                              R"(["leads:read","leads:write","users:read","keys:write"]})");
  EXPECT_EQ(header_of(check(key.key), "X-Keyledger-Scopes"),
            "leads:read leads:write users:read keys:write");
  ASSERT_EQ(
      call("PATCH", "/v1/users/" + admin.id, R"({"role":"auditor"})", json_with(admin_)).status,
      200u);
  EXPECT_EQ(header_of(check(key.key), "X-Keyledger-Scopes"), "leads:read users:read");
  auto verified = call("POST", "/v1/keys/verify", R"({"key":")" + key.key + R"("})",
                       {{"Content-Type", "application/json"}});
  EXPECT_EQ(scopes_of(verified.body, "scopes"),
            (std::vector<std::string>{"leads:read", "users:read"}));
  auto got = call("GET", "/v1/keys/" + key.id, "", json_with(admin_));
  EXPECT_EQ(scopes_of(got.body, "scopes"),
            (std::vector<std::string>{"leads:read", "leads:write", "users:read", "keys:write"}));
  EXPECT_EQ(scopes_of(got.body, "effective_scopes"),
            (std::vector<std::string>{"leads:read", "users:read"}));
  // The key acts for an auditor now: it may no longer write keys.
  EXPECT_EQ(
      call("POST", "/v1/keys", R"({"name":"x","environment":"live"})", json_with(key.key)).status,
      403u);
}

TEST_F(routes_test, user_commands_replay_under_an_idempotency_key) {
  auto headers = json_with(admin_);
  headers.emplace_back("Idempotency-Key", "invite-1");
  const std::string body = R"({"email":"once@acme.example","display_name":"O","role":"member"})";
  auto first = call("POST", "/v1/users", body, headers);
  ASSERT_EQ(first.status, 201u);
  const auto after = store_.head_seq();
  auto again = call("POST", "/v1/users", body, headers);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(header_of(again, "Idempotent-Replayed"), "true");
  EXPECT_EQ(store_.head_seq(), after);
  EXPECT_EQ(idempotency_.all_responses().find(string_field(first.body, "invitation_token")),
            std::string::npos);
  // A person's idempotency keys are theirs (the scope is the user).
  auto me = owner();
  auto mine = as(me);
  mine.emplace_back("Idempotency-Key", "invite-1");
  EXPECT_EQ(code_of(call("POST", "/v1/users", body, mine)), "ALREADY_MEMBER");
  auto replay = call("POST", "/v1/users", body, mine);
  EXPECT_EQ(header_of(replay, "Idempotent-Replayed"), "true");
  // Not tracked: sessions and set-password carry secrets.
  auto login_headers = headers_t{{"Content-Type", "application/json"}, {"Idempotency-Key", "x"}};
  const std::string login =
      R"({"email":"owner@acme.example","password":")" + owner_password_ + R"("})";
  auto a = call("POST", "/v1/sessions", login, login_headers);
  auto b = call("POST", "/v1/sessions", login, login_headers);
  EXPECT_EQ(a.status, 201u);
  EXPECT_NE(header_of(a, "Set-Cookie"), header_of(b, "Set-Cookie"));
  EXPECT_EQ(header_of(b, "Idempotent-Replayed"), "(absent)");
}

}  // namespace
}  // namespace keyledger::services::routes_testing

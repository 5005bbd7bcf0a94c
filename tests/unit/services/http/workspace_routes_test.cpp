// The workspace settings, and workspace isolation on every id-taking endpoint.
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

TEST_F(routes_test, the_workspace_settings_are_read_and_changed_by_those_allowed) {
  auto got = call("GET", "/v1/workspace", "", json_with(admin_));
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(
      got.body,
      R"({"id":")" + workspace_id_ +
          R"(","name":"acme","key_prefix":"kl","key_policy":{"default_lifespan_days":90,"max_lifespan_days":365,"allow_no_expiry":false,"names_allow_spaces":true},"scope_catalog":["leads:read","leads:write","calendar:read"],"on_leak":"revoke"})");
  auto member = join(role::member, "m@acme.example");
  auto auditor = join(role::auditor, "u@acme.example");
  EXPECT_EQ(call("GET", "/v1/workspace", "", as(member, false)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/workspace", "", as(auditor, false)).status, 200u);
  const std::string change =
      R"({"scope_catalog":["leads:read","messages:write"],"key_policy":{"max_lifespan_days":120}})";
  EXPECT_EQ(call("PATCH", "/v1/workspace", change, as(auditor)).status, 403u);
  auto reader = create(R"({"name":"r","environment":"live","scopes":["keys:read","keys:write"]})");
  EXPECT_EQ(call("GET", "/v1/workspace", "", json_with(reader.key)).status, 200u);
  EXPECT_EQ(call("PATCH", "/v1/workspace", change, json_with(reader.key)).status, 403u);

  auto changed = call("PATCH", "/v1/workspace", change, json_with(admin_));
  ASSERT_EQ(changed.status, 200u) << changed.body;
  auto d = parse(changed.body);
  EXPECT_EQ(d["key_policy"]["max_lifespan_days"].GetInt(), 120);
  EXPECT_EQ(d["key_policy"]["default_lifespan_days"].GetInt(), 90);
  EXPECT_EQ(d["scope_catalog"].Size(), 2u);
  EXPECT_EQ(call("GET", "/v1/workspace", "", json_with(admin_)).body, changed.body);
  EXPECT_EQ(
      call("POST", "/v1/keys", R"({"name":"m","environment":"live","scopes":["messages:write"]})",
           json_with(admin_))
          .status,
      201u);
  EXPECT_EQ(
      code_of(call("POST", "/v1/keys", R"({"name":"m","environment":"live","expires_in_days":121})",
                   json_with(admin_))),
      "INVALID_FIELD");

  const auto before = store_.head_seq();
  EXPECT_EQ(call("PATCH", "/v1/workspace", "{}", json_with(admin_)).status, 200u);
  EXPECT_EQ(call("PATCH", "/v1/workspace", change, as(owner())).status, 200u);
  EXPECT_EQ(store_.head_seq(), before) << "no change, nothing appended";
  const std::pair<std::string, std::string> bad[] = {
      {R"({"key_policy":{"default_lifespan_days":200}})", "INVALID_FIELD"},
      {R"({"key_policy":{"max_lifespan_days":0}})", "INVALID_FIELD"},
      {R"({"key_policy":{"max_lifespan_days":"long"}})", "INVALID_FIELD"},
      {R"({"key_policy":{"colour":1}})", "UNKNOWN_FIELD"},
      {R"({"key_policy":null})", "INVALID_FIELD"},
      {R"({"scope_catalog":["keys:read"]})", "INVALID_FIELD"},
      {R"({"scope_catalog":["Leads"]})", "INVALID_FIELD"},
      {R"({"scope_catalog":["a:b","a:b"]})", "INVALID_FIELD"},
      {R"({"name":"renamed"})", "UNKNOWN_FIELD"},
      {R"({"on_leak":"delete"})", "INVALID_FIELD"},
      {R"({"on_leak":"Revoke"})", "INVALID_FIELD"},
      {R"({"on_leak":true})", "INVALID_FIELD"},
      {R"({"on_leak":null})", "INVALID_FIELD"},
  };
  for (const auto& [body, code] : bad) {
    EXPECT_EQ(code_of(call("PATCH", "/v1/workspace", body, json_with(admin_))), code) << body;
  }
  EXPECT_EQ(store_.head_seq(), before);

  // on_leak: what a signed leak report does to a live key (revoke by default).
  auto disable = call("PATCH", "/v1/workspace", R"({"on_leak":"disable"})", json_with(admin_));
  ASSERT_EQ(disable.status, 200u) << disable.body;
  EXPECT_EQ(string_field(disable.body, "on_leak"), "disable");
  EXPECT_EQ(parse(disable.body)["key_policy"]["max_lifespan_days"].GetInt(), 120);
  EXPECT_EQ(store_.head_seq(), before + 1);
  EXPECT_EQ(string_field(call("GET", "/v1/workspace", "", json_with(admin_)).body, "on_leak"),
            "disable");
  EXPECT_EQ(call("PATCH", "/v1/workspace", R"({"on_leak":"revoke"})", as(auditor)).status, 403u);
  EXPECT_EQ(store_.head_seq(), before + 1);
}

TEST_F(routes_test, another_workspace_sees_nothing_of_this_one_on_any_id_taking_endpoint) {
  const auto other = bootstrap("other", "ot", {"leads:read"});
  auto other_owner = log_in({other.owner_id, other.owner_email, other.owner_password, "", ""});
  auto member = join(role::member, "m@acme.example");
  auto key = create_as(member, R"({"name":"ours","environment":"live"})");
  const auto before = store_.head_seq();
  struct probe {
    std::string method;
    std::string target;
    std::string body;
  };
  const probe probes[] = {
      {"GET", "/v1/keys/" + key.id, ""},
      {"PATCH", "/v1/keys/" + key.id, R"({"name":"theirs"})"},
      {"DELETE", "/v1/keys/" + key.id, ""},
      {"POST", "/v1/keys/" + key.id + "/rotate", ""},
      {"GET", "/v1/keys/" + key.id + "/requests", ""},
      {"GET", "/v1/keys/" + admin_id_, ""},
      {"GET", "/v1/users/" + member.id, ""},
      {"PATCH", "/v1/users/" + member.id, R"({"role":"auditor"})"},
      {"DELETE", "/v1/users/" + member.id, ""},
      {"GET", "/v1/users/" + owner_id_, ""},
      {"DELETE", "/v1/users/" + owner_id_, ""},
  };
  for (const auto& p : probes) {
    for (const auto& headers : {json_with(other.key), as(other_owner)}) {
      auto r = call(p.method, p.target, p.body, headers);
      EXPECT_EQ(r.status, 404u) << p.method << " " << p.target << " " << r.body;
      EXPECT_EQ(code_of(r), "NOT_FOUND") << p.method << " " << p.target;
    }
  }
  EXPECT_EQ(store_.head_seq(), before);
  // Their lists hold only their own.
  auto users = parse(call("GET", "/v1/users", "", json_with(other.key)).body);
  ASSERT_EQ(users["data"].Size(), 1u);
  EXPECT_EQ(std::string(users["data"][0]["id"].GetString()), other.owner_id);
  EXPECT_EQ(call("GET", "/v1/keys", "", json_with(other.key)).body.find(key.id), std::string::npos);
  EXPECT_EQ(string_field(call("GET", "/v1/workspace", "", as(other_owner, false)).body, "id"),
            other.workspace_id);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

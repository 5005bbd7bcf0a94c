// /v1/oauth/clients: registration, reading, changes, secret rotation and deletion of a
// workspace's OAuth apps, who may do each, and what is never shown or stored.
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

constexpr const char* confidential_app =
    R"({"type":"confidential","name":"CRM sync","redirect_uris":["https://crm.example/cb"],"allowed_scopes":["leads:read"]})";

class oauth_client_routes_test : public routes_test {
 protected:
  /// Registers `body` as the admin key; fails the test unless 201.
  std::pair<std::string, std::string> register_app(const std::string& body = confidential_app) {
    auto r = call("POST", "/v1/oauth/clients", body, json_with(admin_));
    EXPECT_EQ(r.status, 201u) << r.body;
    auto d = parse(r.body);
    const std::string secret = d.HasMember("client_secret") ? d["client_secret"].GetString() : "";
    return {string_field(r.body, "id"), secret};
  }
  /// Everything the log holds, payloads and metadata.
  std::string whole_log() {
    std::string out;
    for (const auto& e : store_.read_all(0, 10'000)) out += e.payload + e.metadata;
    return out;
  }
};

TEST_F(oauth_client_routes_test, a_confidential_app_is_registered_with_a_secret_shown_once) {
  auto r = call("POST", "/v1/oauth/clients", confidential_app, json_with(admin_));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto d = parse(r.body);
  const std::string id = d["id"].GetString();
  const std::string secret = d["client_secret"].GetString();
  EXPECT_TRUE(domain::oauth::valid_client_id(id));
  EXPECT_TRUE(secret.starts_with("klcs_"));
  EXPECT_EQ(secret.size(), 48u);
  EXPECT_EQ(std::string(d["type"].GetString()), "confidential");
  EXPECT_EQ(std::string(d["token_endpoint_auth_method"].GetString()), "client_secret_basic");
  EXPECT_TRUE(d["enabled"].GetBool());
  EXPECT_EQ(scopes_of(r.body, "grant_types"),
            (std::vector<std::string>{"authorization_code", "refresh_token"}))
      << "the default grant types";
  EXPECT_EQ(d["access_token_lifetime_seconds"].GetInt(), 600);
  EXPECT_EQ(d["refresh_idle_lifetime_seconds"].GetInt(), 2592000);
  EXPECT_EQ(std::string(d["workspace_id"].GetString()), workspace_id_);

  // Never shown again; never stored.
  auto got = call("GET", "/v1/oauth/clients/" + id, "", json_with(admin_));
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_FALSE(parse(got.body).HasMember("client_secret"));
  EXPECT_EQ(got.body.find(secret), std::string::npos);
  EXPECT_EQ(whole_log().find(secret), std::string::npos);
  EXPECT_EQ(whole_log().find(secret.substr(5)), std::string::npos);
  // The view authenticates it (what the token endpoint will do).
  auto client = oauth_clients_.find(id);
  ASSERT_TRUE(client);
  EXPECT_TRUE(oauth_client_service_.authenticate(*client, secret));
  EXPECT_FALSE(oauth_client_service_.authenticate(*client, secret.substr(0, 47) + "x"));

  auto list = call("GET", "/v1/oauth/clients", "", json_with(admin_));
  ASSERT_EQ(list.status, 200u);
  auto l = parse(list.body);
  ASSERT_EQ(l["clients"].Size(), 1u);
  EXPECT_EQ(std::string(l["clients"][0]["id"].GetString()), id);
}

TEST_F(oauth_client_routes_test, a_public_app_has_no_secret_and_cannot_rotate_one) {
  auto r = call(
      "POST", "/v1/oauth/clients",
      R"({"type":"public","name":"CLI","redirect_uris":["http://127.0.0.1:9999/cb"],"grant_types":["authorization_code"]})",
      json_with(admin_));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_FALSE(parse(r.body).HasMember("client_secret"));
  EXPECT_EQ(string_field(r.body, "token_endpoint_auth_method"), "none");
  const auto id = string_field(r.body, "id");
  auto rotated = call("POST", "/v1/oauth/clients/" + id + "/rotate-secret", "", json_with(admin_));
  EXPECT_EQ(rotated.status, 409u);
  EXPECT_EQ(code_of(rotated), "NOT_CONFIDENTIAL");
  EXPECT_EQ(code_of(call("POST", "/v1/oauth/clients",
                         R"({"type":"public","name":"x","grant_types":["client_credentials"]})",
                         json_with(admin_))),
            "INVALID_FIELD")
      << "a public client cannot keep a secret";
}

TEST_F(oauth_client_routes_test, bad_registrations_are_refused_and_change_nothing) {
  const auto before = store_.head_seq();
  const std::pair<std::string, std::string> bad[] = {
      {R"({"name":"x"})", "MISSING_FIELD"},
      {R"({"type":"confidential"})", "MISSING_FIELD"},
      {R"({"type":"secret","name":"x"})", "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","redirect_uris":["http://crm.example/cb"]})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","redirect_uris":["https://crm.example/cb#f"]})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","redirect_uris":["https://*.crm.example/cb"]})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","redirect_uris":["https://u@crm.example/cb"]})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","redirect_uris":["http://localhost/cb"]})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","grant_types":["implicit"]})", "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","grant_types":["password"]})", "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","grant_types":["client_credentials"],"access_token_lifetime_seconds":59})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","grant_types":["client_credentials"],"allowed_scopes":["Leads"]})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","redirect_uris":"https://crm.example/cb"})",
       "INVALID_FIELD"},
      {R"({"type":"confidential","name":"x","client_secret":"klcs_mine"})", "UNKNOWN_FIELD"},
      {R"({"type":"confidential","name":"x","enabled":false})", "UNKNOWN_FIELD"},
  };
  for (const auto& [body, code] : bad) {
    auto r = call("POST", "/v1/oauth/clients", body, json_with(admin_));
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_EQ(code_of(r), code) << body << " " << r.body;
  }
  EXPECT_EQ(store_.head_seq(), before);
}

TEST_F(oauth_client_routes_test, only_owners_and_admins_manage_auditors_read_members_neither) {
  const auto [id, secret] = register_app();
  auto member = join(role::member, "m@acme.example");
  auto auditor = join(role::auditor, "a@acme.example");
  auto admin = join(role::admin, "ad@acme.example");
  EXPECT_EQ(call("GET", "/v1/oauth/clients", "", as(member, false)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/oauth/clients/" + id, "", as(member, false)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/oauth/clients", "", as(auditor, false)).status, 200u);
  EXPECT_EQ(call("PATCH", "/v1/oauth/clients/" + id, R"({"name":"y"})", as(auditor)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/oauth/clients", confidential_app, as(member)).status, 403u);
  EXPECT_EQ(call("PATCH", "/v1/oauth/clients/" + id, R"({"name":"by admin"})", as(admin)).status,
            200u);
  EXPECT_EQ(call("POST", "/v1/oauth/clients", confidential_app, as(owner())).status, 201u);
  // A key needs workspace:admin, even an owner's key with every other management scope.
  auto writer = create(
      R"({"name":"w","environment":"live","scopes":["keys:read","keys:write","users:read","users:write"]})");
  EXPECT_EQ(call("GET", "/v1/oauth/clients", "", json_with(writer.key)).status, 403u);
  EXPECT_EQ(call("POST", "/v1/oauth/clients", confidential_app, json_with(writer.key)).status,
            403u);
  // A session write needs its CSRF token.
  EXPECT_EQ(call("POST", "/v1/oauth/clients", confidential_app, as(admin, false)).status, 403u);
}

TEST_F(oauth_client_routes_test, another_workspaces_app_does_not_exist_for_the_caller) {
  const auto [id, secret] = register_app();
  auto other = bootstrap("globex", "gx");
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/oauth/clients/" + id},
           {"PATCH", "/v1/oauth/clients/" + id},
           {"DELETE", "/v1/oauth/clients/" + id},
           {"POST", "/v1/oauth/clients/" + id + "/rotate-secret"}}) {
    auto r =
        call(method, path, method == "PATCH" ? R"({"name":"mine"})" : "", json_with(other.key));
    EXPECT_EQ(r.status, 404u) << method << " " << path;
  }
  auto list = call("GET", "/v1/oauth/clients", "", json_with(other.key));
  EXPECT_EQ(parse(list.body)["clients"].Size(), 0u);
  EXPECT_EQ(call("GET", "/v1/oauth/clients/cli_nonsense", "", json_with(admin_)).status, 404u);
  EXPECT_EQ(oauth_clients_.find(id)->settings.name, "CRM sync");
}

TEST_F(oauth_client_routes_test, settings_change_and_the_app_is_switched_off_and_on) {
  const auto [id, secret] = register_app();
  auto changed = call(
      "PATCH", "/v1/oauth/clients/" + id,
      R"({"name":"CRM sync 2","redirect_uris":["https://crm.example/cb","http://127.0.0.1:8000/cb"],"access_token_lifetime_seconds":300})",
      json_with(admin_));
  ASSERT_EQ(changed.status, 200u) << changed.body;
  auto d = parse(changed.body);
  EXPECT_EQ(std::string(d["name"].GetString()), "CRM sync 2");
  EXPECT_EQ(d["redirect_uris"].Size(), 2u);
  EXPECT_EQ(d["access_token_lifetime_seconds"].GetInt(), 300);
  EXPECT_EQ(scopes_of(changed.body, "allowed_scopes"), std::vector<std::string>{"leads:read"});
  EXPECT_FALSE(d["updated_at"].IsNull());

  auto off = call("PATCH", "/v1/oauth/clients/" + id, R"({"enabled":false})", json_with(admin_));
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_FALSE(parse(off.body)["enabled"].GetBool());
  EXPECT_FALSE(oauth_client_service_.authenticate(*oauth_clients_.find(id), secret))
      << "a disabled app does not authenticate";
  const auto before = store_.head_seq();
  EXPECT_EQ(
      call("PATCH", "/v1/oauth/clients/" + id, R"({"enabled":false})", json_with(admin_)).status,
      200u);
  EXPECT_EQ(store_.head_seq(), before) << "no change, nothing appended";
  auto on = call("PATCH", "/v1/oauth/clients/" + id, R"({"enabled":true})", json_with(admin_));
  EXPECT_TRUE(parse(on.body)["enabled"].GetBool());
  EXPECT_TRUE(oauth_client_service_.authenticate(*oauth_clients_.find(id), secret));

  // A refused setting changes nothing, the switch included.
  const auto at = store_.head_seq();
  auto refused =
      call("PATCH", "/v1/oauth/clients/" + id,
           R"({"redirect_uris":["https://x.example/#f"],"enabled":false})", json_with(admin_));
  EXPECT_EQ(code_of(refused), "INVALID_FIELD");
  EXPECT_EQ(
      code_of(call("PATCH", "/v1/oauth/clients/" + id, R"({"type":"public"})", json_with(admin_))),
      "UNKNOWN_FIELD")
      << "the type is fixed at registration";
  EXPECT_EQ(store_.head_seq(), at);
  EXPECT_TRUE(oauth_clients_.find(id)->enabled);
}

TEST_F(oauth_client_routes_test, a_rotated_secret_overlaps_the_old_one_for_the_grace_period) {
  const auto [id, old_secret] = register_app();
  auto r = call("POST", "/v1/oauth/clients/" + id + "/rotate-secret",
                R"({"grace_period_seconds":3600})", json_with(admin_));
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto new_secret = string_field(r.body, "client_secret");
  EXPECT_NE(new_secret, old_secret);
  EXPECT_NE(string_field(r.body, "previous_secret_valid_until"), "(none)");
  const auto client = *oauth_clients_.find(id);
  EXPECT_TRUE(oauth_client_service_.authenticate(client, new_secret));
  EXPECT_TRUE(oauth_client_service_.authenticate(client, old_secret));
  clock_.advance(3601s);
  EXPECT_TRUE(oauth_client_service_.authenticate(client, new_secret));
  EXPECT_FALSE(oauth_client_service_.authenticate(client, old_secret));
  EXPECT_EQ(whole_log().find(new_secret), std::string::npos);
  EXPECT_EQ(code_of(call("POST", "/v1/oauth/clients/" + id + "/rotate-secret",
                         R"({"grace_period_seconds":2592001})", json_with(admin_))),
            "INVALID_FIELD");
}

TEST_F(oauth_client_routes_test, a_deleted_app_is_gone_for_good) {
  const auto [id, secret] = register_app();
  EXPECT_EQ(call("DELETE", "/v1/oauth/clients/" + id, "", json_with(admin_)).status, 204u);
  EXPECT_EQ(call("GET", "/v1/oauth/clients/" + id, "", json_with(admin_)).status, 404u);
  EXPECT_EQ(call("DELETE", "/v1/oauth/clients/" + id, "", json_with(admin_)).status, 404u);
  EXPECT_EQ(parse(call("GET", "/v1/oauth/clients", "", json_with(admin_)).body)["clients"].Size(),
            0u);
  const auto client = oauth_clients_.find(id);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->deleted);
  EXPECT_FALSE(oauth_client_service_.authenticate(*client, secret));
}

}  // namespace
}  // namespace keyledger::services::routes_testing

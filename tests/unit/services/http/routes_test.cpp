// The HTTP API handler driven directly (no sockets), over the in-memory event store and fakes of
// the telemetry, idempotency and people stores: routing, versioning, authentication, validation,
// the key lifecycle, idempotent replays, client addresses behind proxies and the gateway check;
// users, roles, sessions (cookies, CSRF), role-based authorization of every endpoint and
// workspace isolation. The real socket path is covered by tests/e2e against the running binary.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>

#include "domain/key_format.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/key_service.hpp"
#include "services/app/rate_limiter.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/app/user_service.hpp"
#include "services/app/verifier.hpp"
#include "services/app/workspace_service.hpp"
#include "services/http/api_handler.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/openapi_document.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_people_store.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;
using headers_t = std::vector<std::pair<std::string, std::string>>;

/// In-memory telemetry with the port's semantics (shared by all workers: it locks).
class fake_telemetry final : public infra::telemetry_store {
 public:
  void write(std::span<const infra::key_use> uses,
             std::span<const infra::auth_failure_count> failures) override {
    std::lock_guard lock(mutex_);
    for (const auto& u : uses) {
      auto& last = last_[u.key_id];
      if (u.at_us >= last.at_us) last = {u.key_id, u.at_us, u.ip};
      if (u.log_request) log_.push_back({u.key_id, {++next_id_, u.at_us, u.ip, u.code, u.count}});
    }
    for (const auto& f : failures) {
      auto& row = failures_[{f.workspace_id, f.source_ip, f.code}];
      if (row.count == 0) {
        row = f;
      } else {
        row.count += f.count;
        row.first_at_us = std::min(row.first_at_us, f.first_at_us);
        row.last_at_us = std::max(row.last_at_us, f.last_at_us);
      }
    }
  }
  std::vector<infra::last_use> last_uses(std::span<const std::string> key_ids) override {
    std::lock_guard lock(mutex_);
    std::vector<infra::last_use> out;
    for (const auto& id : key_ids) {
      if (auto it = last_.find(id); it != last_.end()) out.push_back(it->second);
    }
    return out;
  }
  std::vector<infra::request_log_entry> request_log(
      std::string_view key_id, std::optional<std::pair<std::int64_t, std::int64_t>> before,
      std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<infra::request_log_entry> out;
    for (auto it = log_.rbegin(); it != log_.rend() && out.size() < limit; ++it) {
      if (it->first != key_id) continue;
      const auto& e = it->second;
      if (before && std::pair{e.at_us, e.id} >= *before) continue;
      out.push_back(e);
    }
    return out;
  }
  std::vector<infra::auth_failure_count> auth_failures(std::string_view workspace_id,
                                                       std::int64_t since_us,
                                                       std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<infra::auth_failure_count> out;
    for (const auto& [k, row] : failures_) {
      if (row.workspace_id == workspace_id && row.last_at_us >= since_us) out.push_back(row);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.last_at_us > b.last_at_us; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  std::size_t purge_request_log(std::int64_t) override { return 0; }
  std::size_t purge_auth_failures(std::int64_t) override { return 0; }

 private:
  std::mutex mutex_;
  std::map<std::string, infra::last_use, std::less<>> last_;
  std::vector<std::pair<std::string, infra::request_log_entry>> log_;
  std::map<std::tuple<std::string, std::string, std::string>, infra::auth_failure_count> failures_;
  std::int64_t next_id_ = 0;
};

/// Forwards to a shared fake (usage_recorder wants to own its store).
class telemetry_ref final : public infra::telemetry_store {
 public:
  explicit telemetry_ref(infra::telemetry_store& inner) : inner_(inner) {}
  void write(std::span<const infra::key_use> u,
             std::span<const infra::auth_failure_count> f) override {
    inner_.write(u, f);
  }
  std::vector<infra::last_use> last_uses(std::span<const std::string> ids) override {
    return inner_.last_uses(ids);
  }
  std::vector<infra::request_log_entry> request_log(
      std::string_view id, std::optional<std::pair<std::int64_t, std::int64_t>> before,
      std::size_t limit) override {
    return inner_.request_log(id, before, limit);
  }
  std::vector<infra::auth_failure_count> auth_failures(std::string_view ws, std::int64_t since,
                                                       std::size_t limit) override {
    return inner_.auth_failures(ws, since, limit);
  }
  std::size_t purge_request_log(std::int64_t before) override {
    return inner_.purge_request_log(before);
  }
  std::size_t purge_auth_failures(std::int64_t before) override {
    return inner_.purge_auth_failures(before);
  }

 private:
  infra::telemetry_store& inner_;
};

/// In-memory idempotency records with the port's semantics.
class fake_idempotency final : public infra::idempotency_store {
 public:
  std::optional<infra::idempotency_record> claim(std::string_view scope, std::string_view key,
                                                 const infra::sha256_digest& fingerprint,
                                                 std::int64_t now_us,
                                                 std::int64_t expired_before_us) override {
    std::lock_guard lock(mutex_);
    const auto id = std::pair{std::string(scope), std::string(key)};
    if (auto it = records_.find(id);
        it != records_.end() && it->second.created_at_us >= expired_before_us) {
      return it->second;
    }
    records_[id] = {id.first, id.second, fingerprint, false, {}, now_us};
    return std::nullopt;
  }
  void complete(std::string_view scope, std::string_view key,
                std::string_view sealed_response) override {
    std::lock_guard lock(mutex_);
    auto& r = records_.at({std::string(scope), std::string(key)});
    r.complete = true;
    r.response = std::string(sealed_response);
  }
  void release(std::string_view scope, std::string_view key) override {
    std::lock_guard lock(mutex_);
    auto it = records_.find({std::string(scope), std::string(key)});
    if (it != records_.end() && !it->second.complete) records_.erase(it);
  }
  std::size_t purge(std::int64_t) override { return 0; }

  /// Makes a completed record look as if its request were still running.
  void mark_pending(std::string_view key) {
    std::lock_guard lock(mutex_);
    for (auto& [id, r] : records_) {
      if (id.second == key) {
        r.complete = false;
        r.response.clear();
      }
    }
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return records_.size();
  }
  /// Every stored (sealed) response, concatenated.
  std::string all_responses() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [id, r] : records_) out += r.response;
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, infra::idempotency_record> records_;
};

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

std::string header_of(const infra::http_response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "(absent)";
}

std::string code_of(const infra::http_response& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str(), r.body.size());  // HEAD answers have no body
  return d.IsObject() && d.HasMember("code") && d["code"].IsString() ? d["code"].GetString()
                                                                     : "(none)";
}

std::string string_field(const std::string& body, const char* name) {
  auto d = parse(body);
  if (!d.IsObject() || !d.HasMember(name) || !d[name].IsString()) return "(none)";
  return d[name].GetString();
}

class routes_test : public ::testing::Test {
 protected:
  routes_test()
      : hasher_(infra::secret(std::string(32, 'k'))),
        keys_(hasher_, random_, clock_),
        workspaces_(keys_, random_, clock_),
        usage_([this] { return std::make_unique<telemetry_ref>(telemetry_); }, {}),
        verifier_(view_, hasher_, limiter_, usage_, clock_),
        sealer_(infra::derive_key(std::string(32, 's'), "keyledger/idempotency/v1")),
        users_(infra::secret(std::string(32, 't')), infra::secret(std::string(32, 'c')), random_,
               clock_, {}),
        pool_(1, 4) {
    handler_ = handler_with({});
    const auto boot = bootstrap("acme", "kl", {"leads:read", "leads:write", "calendar:read"});
    admin_ = boot.key;
    admin_id_ = boot.key_id;
    workspace_id_ = boot.workspace_id;
    owner_id_ = boot.owner_id;
    owner_password_ = boot.owner_password;
  }
  ~routes_test() override { pool_.stop(); }

  struct booted {
    std::string workspace_id;
    std::string key;  ///< the owner's admin key (every management scope)
    std::string key_id;
    std::string owner_id;
    std::string owner_email;
    std::string owner_password;
  };

  /// A workspace with an owner (email owner@<name>.example) and the owner's admin key.
  booted bootstrap(const std::string& name, const std::string& prefix,
                   const std::vector<std::string>& catalog = {},
                   const domain::key_policy& policy = {}) {
    booted out;
    out.owner_email = "owner@" + name + ".example";
    auto boot = workspaces_.bootstrap(store_, name, prefix, {"bootstrap", "req_0", "", ""}, policy,
                                catalog, [&](const domain::workspace_state& ws) {
                                  auto owner = users_.bootstrap_owner(
                                      store_, people_, ws.workspace_id, out.owner_email,
                                      {"bootstrap", "req_0", "", ""});
                                  EXPECT_TRUE(owner.ok());
                                  if (!owner.ok()) return std::string();
                                  out.owner_password = std::string(owner->password.reveal());
                                  out.owner_id = owner->user_id;
                                  return owner->user_id;
                                });
    EXPECT_TRUE(boot.ok());
    if (!boot.ok()) return out;
    out.workspace_id = boot->workspace.workspace_id;
    out.key = std::string(boot->admin_key.key.reveal());
    out.key_id = boot->admin_key.state.key_id;
    feed();
    return out;
  }

  infra::request_handler handler_with(std::vector<domain::cidr> trusted, bool loopback = false) {
    return make_api_handler(api_dependencies{
        view_,
        keys_,
        workspaces_,
        verifier_,
        pool_,
        [this](std::size_t) -> infra::event_store& { return store_; },
        [this](std::size_t) -> infra::telemetry_store& { return telemetry_; },
        [this](std::size_t) -> infra::idempotency_store& { return idempotency_; },
        sealer_,
        clock_,
        std::move(trusted),
        2000ms,
        directory_,
        users_,
        [this](std::size_t) -> infra::people_store& { return people_; },
        usage_,
        loopback,
    });
  }

  /// Applies what the store holds to the views, as the subscription would (the directory
  /// first).
  void feed() {
    std::lock_guard lock(feed_mutex_);
    for (const auto& e : store_.read_all(view_.applied_seq(), 1000)) {
      directory_.apply(e);
      view_.apply(e);
    }
  }

  infra::http_response call_with(const infra::request_handler& handler, std::string method,
                                 std::string target, std::string body = {}, headers_t headers = {},
                                 std::string remote_ip = "127.0.0.1") {
    infra::http_request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.request_id = "req_test";
    req.remote_ip = std::move(remote_ip);
    auto promise = std::make_shared<std::promise<infra::http_response>>();
    auto future = promise->get_future();
    handler(std::move(req),
            [promise](infra::http_response r) { promise->set_value(std::move(r)); });
    // Commands wait for the view to apply their event: play the subscription meanwhile.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (future.wait_for(1ms) != std::future_status::ready) {
      feed();
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no response";
        return {};
      }
    }
    feed();
    return future.get();
  }

  infra::http_response call(std::string method, std::string target, std::string body = {},
                            headers_t headers = {}, std::string remote_ip = "127.0.0.1") {
    return call_with(handler_, std::move(method), std::move(target), std::move(body),
                     std::move(headers), std::move(remote_ip));
  }

  static headers_t json_with(std::string auth) {
    return {{"Content-Type", "application/json"}, {"Authorization", std::move(auth)}};
  }

  struct made_key {
    std::string id;
    std::string key;
  };

  /// Creates a key with `body` as the admin; fails the test unless 201.
  made_key create(const std::string& body) {
    auto r = call("POST", "/v1/keys", body, json_with("Bearer " + admin_));
    EXPECT_EQ(r.status, 201u) << r.body;
    return {string_field(r.body, "id"), string_field(r.body, "key")};
  }

  infra::http_response check(const std::string& key, headers_t extra = {},
                             std::string target = "/v1/check",
                             std::string remote_ip = "127.0.0.1") {
    extra.emplace_back("Authorization", "Bearer " + key);
    return call("GET", std::move(target), {}, std::move(extra), std::move(remote_ip));
  }

  // ---- people ----

  /// A person logged in through the API: their session cookie and CSRF token.
  struct person {
    std::string id;
    std::string email;
    std::string password;
    std::string cookie;  ///< "keyledger_session=<id>"
    std::string csrf;
  };

  /// Invites `email` with `role` (as the owner's admin key), sets the password with the token
  /// and logs in.
  person join(domain::role role, const std::string& email) {
    person p;
    p.email = email;
    p.password = "correct horse battery " + email;
    auto invited = call("POST", "/v1/users",
                        R"({"email":")" + email + R"(","display_name":"P","role":")" +
                            std::string(domain::to_string(role)) + R"("})",
                        json_with(admin_));
    EXPECT_EQ(invited.status, 201u) << invited.body;
    p.id = string_field(invited.body, "id");
    auto set = call("POST", "/v1/users/set-password",
                    R"({"token":")" + string_field(invited.body, "invitation_token") +
                        R"(","password":")" + p.password + R"("})",
                    {{"Content-Type", "application/json"}});
    EXPECT_EQ(set.status, 204u) << set.body;
    return log_in(std::move(p));
  }

  person log_in(person p, const std::string& workspace = {}) {
    auto r = call("POST", "/v1/sessions",
                  R"({"email":")" + p.email + R"(","password":")" + p.password + R"(")" +
                      (workspace.empty() ? "" : R"(,"workspace":")" + workspace + R"(")") + "}",
                  {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201u) << r.body;
    const auto set_cookie = header_of(r, "Set-Cookie");
    p.cookie = set_cookie.substr(0, set_cookie.find(';'));
    p.csrf = string_field(r.body, "csrf_token");
    if (p.id.empty()) p.id = string_field(r.body, "user_id");
    return p;
  }

  person owner() { return log_in({owner_id_, "owner@acme.example", owner_password_, "", ""}); }

  /// Cookie (and, for writes, the CSRF token) of `p`, with a JSON content type.
  static headers_t as(const person& p, bool with_csrf = true) {
    headers_t h{{"Content-Type", "application/json"}, {"Cookie", p.cookie}};
    if (with_csrf) h.emplace_back("X-CSRF-Token", p.csrf);
    return h;
  }

  /// Creates a key as `p` (session); fails the test unless 201.
  made_key create_as(const person& p, const std::string& body) {
    auto r = call("POST", "/v1/keys", body, as(p));
    EXPECT_EQ(r.status, 201u) << r.body;
    return {string_field(r.body, "id"), string_field(r.body, "key")};
  }

  std::vector<std::string> scopes_of(const std::string& body, const char* field) {
    std::vector<std::string> out;
    auto d = parse(body);
    if (!d.IsObject() || !d.HasMember(field) || !d[field].IsArray()) return {"(none)"};
    for (const auto& s : d[field].GetArray()) out.emplace_back(s.GetString());
    return out;
  }

  infra::openssl_random_source random_;
  test_support::manual_clock clock_{domain::timestamp(std::chrono::seconds(1'800'000'000))};
  infra::hmac_key_hasher hasher_;
  test_support::memory_event_store store_;
  active_key_view view_;
  key_service keys_;
  workspace_service workspaces_;
  fake_telemetry telemetry_;
  fake_idempotency idempotency_;
  rate_limiter limiter_;
  usage_recorder usage_;
  verifier verifier_;
  infra::response_sealer sealer_;
  directory_view directory_;
  test_support::memory_people_store people_;
  user_service users_;
  infra::blocking_pool pool_;
  infra::request_handler handler_;
  std::mutex feed_mutex_;
  std::string admin_;
  std::string admin_id_;
  std::string workspace_id_;
  std::string owner_id_;
  std::string owner_password_;
};

// ---- routing, versioning ----------------------------------------------------------------------

TEST_F(routes_test, every_answer_carries_the_version_errors_included) {
  for (const auto& r : {call("GET", "/healthz"), call("GET", "/nope"), call("PUT", "/v1/keys"),
                        call("GET", "/v1/keys"), call("GET", "/v1/keys", "", json_with(admin_))}) {
    EXPECT_EQ(header_of(r, "Keyledger-Version"), "2026-11-23") << r.status << r.body;
  }
  // The server's own answers (limits, deadline) too.
  auto rendered = make_error_renderer()(413, "PAYLOAD_TOO_LARGE", "req_x");
  EXPECT_EQ(header_of(rendered, "Keyledger-Version"), "2026-11-23");
  EXPECT_EQ(code_of(rendered), "PAYLOAD_TOO_LARGE");
}

TEST_F(routes_test, the_known_version_is_accepted_and_any_other_is_400) {
  EXPECT_EQ(call("GET", "/healthz", "", {{"Keyledger-Version", "2026-11-23"}}).status, 200u);
  for (const char* v : {"2025-01-01", "latest", "", "2026-11-23 "}) {
    auto r = call("GET", "/v1/keys", "", {{"keyledger-version", v}, {"Authorization", admin_}});
    EXPECT_EQ(r.status, 400u) << v;
    EXPECT_EQ(code_of(r), "UNSUPPORTED_VERSION");
    EXPECT_NE(r.body.find("2026-11-23"), std::string::npos) << "lists the known version";
    EXPECT_EQ(header_of(r, "Keyledger-Version"), "2026-11-23");
  }
}

TEST_F(routes_test, an_unmatched_path_is_no_route_and_a_wrong_method_is_405_with_allow) {
  for (const char* path : {"/nope", "/v1/keys/", "/v1/keys/a/b/c", "/v1/keysx", "/v1"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(code_of(r), "NO_ROUTE") << path;
  }
  auto r = call("PUT", "/v1/keys/key_0000000000000000000000");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(code_of(r), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(header_of(r, "Allow"), "GET, PATCH, DELETE");
  EXPECT_EQ(header_of(call("GET", "/v1/keys/verify"), "Allow"), "POST");
}

/// The methods docs/openapi.json lists per path, from the embedded document.
std::map<std::string, std::set<std::string>> documented_methods() {
  rapidjson::Document doc;
  const auto text = openapi_document();
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError());
  std::map<std::string, std::set<std::string>> out;
  for (const auto& p : doc["paths"].GetObject()) {
    auto& methods = out[p.name.GetString()];
    for (const auto& m : p.value.GetObject()) {
      std::string name = m.name.GetString();
      if (name == "parameters" || name == "summary" || name == "description") continue;
      std::transform(name.begin(), name.end(), name.begin(), ::toupper);
      methods.insert(name);
    }
  }
  return out;
}

TEST_F(routes_test, the_routes_and_their_methods_are_exactly_those_of_openapi_json) {
  const auto documented = documented_methods();
  ASSERT_GE(documented.size(), 11u);
  for (const auto& [path, methods] : documented) {
    std::string target = path;
    if (auto p = target.find("{id}"); p != std::string::npos) {
      target.replace(p, 4, "key_0000000000000000000000");
    }
    if (auto p = target.find("{path}"); p != std::string::npos) target.replace(p, 6, "a/b");
    std::string allow;
    for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
      if (methods.count(m)) allow += std::string(allow.empty() ? "" : ", ") + m;
    }
    for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}) {
      auto r = call(m, target);
      if (methods.count(m)) {
        EXPECT_NE(r.status, 405u) << m << " " << path;
        EXPECT_NE(code_of(r), "NO_ROUTE") << m << " " << path;
      } else {
        EXPECT_EQ(r.status, 405u) << m << " " << path;
        // Same set, any order.
        auto got = header_of(r, "Allow");
        std::set<std::string> got_set;
        for (std::size_t i = 0; i < got.size();) {
          auto end = std::min(got.find(", ", i), got.size());
          got_set.insert(got.substr(i, end - i));
          i = end + 2;
        }
        EXPECT_EQ(got_set, methods) << path;
      }
    }
  }
  auto doc = call("GET", "/openapi.json");
  EXPECT_EQ(doc.status, 200u);
  EXPECT_EQ(doc.body, std::string(openapi_document()));
  EXPECT_EQ(parse(doc.body)["openapi"].GetString(), std::string("3.1.0"));
}

// ---- authentication ---------------------------------------------------------------------------

TEST_F(routes_test, management_authentication_answers_401_403_and_429_by_verify_code) {
  EXPECT_EQ(code_of(call("GET", "/v1/keys", "", {})), "UNAUTHORIZED");
  auto garbage = call("GET", "/v1/keys", "", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(garbage.status, 401u);
  EXPECT_EQ(string_field(garbage.body, "error"), "Invalid API key");
  EXPECT_EQ(string_field(garbage.body, "message"), "The provided API key is invalid or expired");
  EXPECT_EQ(string_field(garbage.body, "request_id"), "req_test");

  // Scope: a reader cannot write, a writer cannot read.
  auto reader = create(R"({"name":"r","environment":"live","scopes":["keys:read"]})");
  auto denied =
      call("POST", "/v1/keys", R"({"name":"x","environment":"test"})", json_with(reader.key));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(code_of(denied), "FORBIDDEN");
  EXPECT_EQ(string_field(denied.body, "error"), "Insufficient permissions");
  EXPECT_EQ(call("GET", "/v1/keys", "", json_with(reader.key)).status, 200u);

  // Refused IP.
  auto fenced = create(
      R"({"name":"f","environment":"live","scopes":["keys:read"],"allowed_cidrs":["10.0.0.0/8"]})");
  auto ip = call("GET", "/v1/keys", "", json_with(fenced.key));
  EXPECT_EQ(ip.status, 403u);
  EXPECT_EQ(code_of(ip), "FORBIDDEN_IP");
  EXPECT_EQ(call("GET", "/v1/keys", "", json_with(fenced.key), "10.1.2.3").status, 200u);

  // Disabled, then revoked.
  auto k = create(R"({"name":"d","environment":"live","scopes":["keys:read"]})");
  ASSERT_EQ(call("PATCH", "/v1/keys/" + k.id, R"({"enabled":false})", json_with(admin_)).status,
            200u);
  EXPECT_EQ(code_of(call("GET", "/v1/keys", "", json_with(k.key))), "UNAUTHORIZED");
  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u);
  EXPECT_EQ(call("GET", "/v1/keys", "", json_with(k.key)).status, 401u);

  // Rate limited.
  auto limited = create(
      R"({"name":"l","environment":"live","scopes":["keys:read"],"rate_limit":{"limit":1,"window_seconds":60}})");
  EXPECT_EQ(call("GET", "/v1/keys/self", "", json_with(limited.key)).status, 200u);
  auto throttled = call("GET", "/v1/keys/self", "", json_with(limited.key));
  EXPECT_EQ(throttled.status, 429u);
  EXPECT_EQ(header_of(throttled, "Retry-After"), "60");
  EXPECT_EQ(
      throttled.body,
      R"({"error":"Rate limit exceeded","message":"Too many requests. Please try again later","retry_after":60,"code":"RATE_LIMITED","request_id":"req_test"})");
}

TEST_F(routes_test, no_secret_reaches_an_error_body) {
  auto r = call("GET", "/v1/keys/" + admin_, "", json_with(admin_));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.body.find(admin_), std::string::npos);
  auto named = call("POST", "/v1/keys", R"({"name":")" + admin_ + R"(","environment":"live"})",
                    json_with(admin_));
  EXPECT_EQ(named.status, 400u);
  EXPECT_EQ(named.body.find(admin_), std::string::npos);
  auto field = call("POST", "/v1/keys", R"({")" + admin_ + R"(":1})", json_with(admin_));
  EXPECT_EQ(code_of(field), "UNKNOWN_FIELD");
  EXPECT_EQ(field.body.find(admin_), std::string::npos);
  auto query = call("GET", "/v1/keys?" + admin_ + "=1", "", json_with(admin_));
  EXPECT_EQ(code_of(query), "UNKNOWN_FIELD");
  EXPECT_EQ(query.body.find(admin_), std::string::npos);
}

// ---- validation -------------------------------------------------------------------------------

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

// ---- the lifecycle ----------------------------------------------------------------------------

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

// ---- verification -----------------------------------------------------------------------------

TEST_F(routes_test, verify_answers_valid_with_details_and_refusals_with_the_code_only) {
  auto k = create(
      R"({"name":"v","environment":"test","scopes":["leads:read"],"allowed_cidrs":["10.0.0.0/8"]})");
  auto ok = call("POST", "/v1/keys/verify",
                 R"({"key":")" + k.key + R"(","required_scopes":["leads:read"],"ip":"10.9.9.9"})",
                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(ok.status, 200u);
  auto d = parse(ok.body);
  EXPECT_TRUE(d["valid"].GetBool());
  EXPECT_EQ(std::string(d["code"].GetString()), "VALID");
  EXPECT_EQ(std::string(d["key_id"].GetString()), k.id);
  EXPECT_EQ(std::string(d["name"].GetString()), "v");
  EXPECT_TRUE(d["expires_at"].IsString());

  const std::pair<std::string, std::string> refusals[] = {
      {R"({"key":")" + k.key + R"("})", R"({"valid":false,"code":"FORBIDDEN_IP"})"},
      {R"({"key":")" + k.key + R"(","ip":"10.0.0.1","environment":"live"})",
       R"({"valid":false,"code":"WRONG_ENVIRONMENT"})"},
      {R"({"key":")" + k.key + R"(","ip":"10.0.0.1","required_scopes":["leads:write"]})",
       R"({"valid":false,"code":"INSUFFICIENT_SCOPE"})"},
      {R"({"key":"kl_live_nope"})", R"({"valid":false,"code":"MALFORMED"})"},
  };
  for (const auto& [body, answer] : refusals) {
    auto r = call("POST", "/v1/keys/verify", body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, answer);
  }
  for (const char* bad : {R"({"key":"x","ip":"10.0.0.300"})", R"({"key":"x","environment":"prod"})",
                          R"({"key":"x","required_scopes":["NOPE"]})"}) {
    EXPECT_EQ(code_of(call("POST", "/v1/keys/verify", bad, {{"Content-Type", "application/json"}})),
              "INVALID_FIELD")
        << bad;
  }
  EXPECT_EQ(code_of(call("POST", "/v1/keys/verify", "{}", {{"Content-Type", "application/json"}})),
            "MISSING_FIELD");
}

TEST_F(routes_test, check_answers_each_code_with_the_documented_status_body_and_headers) {
  auto k = create(R"({"name":"gw","environment":"live","scopes":["leads:read","leads:write"]})");
  auto ok = check(k.key, {{"X-Keyledger-Required-Scopes", "leads:read, leads:write"}});
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(ok.body, R"({"valid":true})");
  EXPECT_EQ(header_of(ok, "X-Keyledger-Key-Id"), k.id);
  EXPECT_EQ(header_of(ok, "X-Keyledger-Workspace"), workspace_id_);
  EXPECT_EQ(header_of(ok, "X-Keyledger-Environment"), "live");
  EXPECT_EQ(header_of(ok, "X-Keyledger-Scopes"), "leads:read leads:write");
  EXPECT_EQ(header_of(ok, "Cache-Control"), "no-store");
  // Bare key, query parameters, HEAD without a body, the Envoy form.
  EXPECT_EQ(
      call("GET", "/v1/check?scopes=leads:read&environment=live", "", {{"Authorization", k.key}})
          .status,
      200u);
  auto head = call("HEAD", "/v1/check", "", {{"Authorization", k.key}});
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(call("POST", "/v1/check/api/v2/leads?page=3", "x", {{"Authorization", k.key}}).status,
            200u);

  const auto expect_refusal = [&](const infra::http_response& r, unsigned status,
                                  const std::string& code) {
    EXPECT_EQ(r.status, status) << code << " " << r.body;
    const std::string title = status == 401 ? "Invalid API key" : "Insufficient permissions";
    const std::string message = status == 401 ? "The provided API key is invalid or expired"
                                              : "Your API key doesn't have access to this resource";
    EXPECT_EQ(r.body, R"({"error":")" + title + R"(","message":")" + message + R"(","code":")" +
                          code + R"(","request_id":"req_test"})");
    EXPECT_EQ(header_of(r, "WWW-Authenticate"), status == 401 ? "Bearer" : "(absent)");
  };
  expect_refusal(call("GET", "/v1/check"), 401, "MISSING_KEY");
  expect_refusal(check("kl_live_garbage"), 401, "MALFORMED");
  expect_refusal(check(domain::generate_key("kl", domain::environment::live, random_)), 401,
                 "NOT_FOUND");
  expect_refusal(check(k.key, {{"X-Keyledger-Environment", "test"}}), 403, "WRONG_ENVIRONMENT");
  expect_refusal(check(k.key, {}, "/v1/check?scopes=keys:read"), 403, "INSUFFICIENT_SCOPE");

  auto fenced = create(R"({"name":"f","environment":"live","allowed_cidrs":["10.0.0.0/8"]})");
  expect_refusal(check(fenced.key), 403, "FORBIDDEN_IP");
  EXPECT_EQ(check(fenced.key, {}, "/v1/check", "10.0.0.1").status, 200u);

  auto test_key = create(R"({"name":"t","environment":"test"})");
  expect_refusal(check(test_key.key, {}, "/v1/check?environment=live"), 403, "WRONG_ENVIRONMENT");

  auto off = create(R"({"name":"off","environment":"live","enabled":false})");
  expect_refusal(check(off.key), 401, "DISABLED");

  auto short_lived = create(R"({"name":"s","environment":"live","expires_in_days":1})");
  EXPECT_EQ(check(short_lived.key).status, 200u);
  clock_.advance(std::chrono::days(1));
  expect_refusal(check(short_lived.key), 401, "EXPIRED");

  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", json_with(admin_)).status, 204u);
  expect_refusal(check(k.key), 401, "REVOKED");

  auto limited =
      create(R"({"name":"rl","environment":"live","rate_limit":{"limit":2,"window_seconds":60}})");
  EXPECT_EQ(check(limited.key).status, 200u);
  // A refused check does not use up the limit.
  EXPECT_EQ(check(limited.key, {}, "/v1/check?scopes=x:y").status, 403u);
  EXPECT_EQ(check(limited.key).status, 200u);
  auto throttled = check(limited.key);
  EXPECT_EQ(throttled.status, 429u);
  EXPECT_EQ(header_of(throttled, "Retry-After"), "60");
  EXPECT_EQ(code_of(throttled), "RATE_LIMITED");
  EXPECT_EQ(parse(throttled.body)["retry_after"].GetInt(), 60);

  EXPECT_EQ(code_of(check(k.key, {{"X-Keyledger-Environment", "prod"}})), "INVALID_FIELD");
  EXPECT_EQ(code_of(call("GET", "/v1/check?other=1", "", {{"Authorization", k.key}})),
            "UNKNOWN_FIELD");
}

// ---- client address ---------------------------------------------------------------------------

std::vector<domain::cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<domain::cidr> out;
  for (const char* t : texts) out.push_back(*domain::parse_cidr(t));
  return out;
}

std::string client_of(const std::string& peer, headers_t headers,
                      const std::vector<domain::cidr>& trusted) {
  infra::http_request req;
  req.remote_ip = peer;
  req.headers = std::move(headers);
  auto ip = client_ip_of(req, trusted);
  return ip ? domain::to_string(*ip) : "(unknown)";
}

TEST(client_ip, an_untrusted_peer_is_the_client_whatever_it_forwards) {
  const auto trusted = cidrs({"10.0.0.0/8"});
  EXPECT_EQ(client_of("192.0.2.1", {{"X-Forwarded-For", "203.0.113.5"}}, trusted), "192.0.2.1");
  EXPECT_EQ(client_of("192.0.2.1", {{"X-Forwarded-For", "203.0.113.5"}}, {}), "192.0.2.1");
  EXPECT_EQ(client_of("garbage", {}, trusted), "(unknown)");
}

TEST(client_ip, a_trusted_peer_is_walked_right_to_left_past_trusted_proxies) {
  const auto trusted = cidrs({"10.0.0.0/8", "2001:db8::/32"});
  EXPECT_EQ(client_of("10.0.0.1", {}, trusted), "10.0.0.1");
  EXPECT_EQ(client_of("10.0.0.1", {{"X-Forwarded-For", "203.0.113.5"}}, trusted), "203.0.113.5");
  // The right-most untrusted entry wins: anything left of it was written by the client.
  EXPECT_EQ(
      client_of("10.0.0.1", {{"X-Forwarded-For", "198.51.100.1, 203.0.113.5, 10.2.2.2"}}, trusted),
      "203.0.113.5");
  // Several headers are one list, in order.
  EXPECT_EQ(
      client_of("10.0.0.1", {{"X-Forwarded-For", "198.51.100.1"}, {"x-forwarded-for", "10.3.3.3"}},
                trusted),
      "198.51.100.1");
  // Ports and brackets, as some proxies write them.
  EXPECT_EQ(client_of("10.0.0.1", {{"X-Forwarded-For", "203.0.113.5:4711"}}, trusted),
            "203.0.113.5");
  EXPECT_EQ(client_of("2001:db8::1", {{"X-Forwarded-For", "[2001:db9::7]:443"}}, trusted),
            "2001:db9::7");
  // All trusted: the left-most. Garbage where an address must be: unknown.
  EXPECT_EQ(client_of("10.0.0.1", {{"X-Forwarded-For", "10.9.9.9, 10.8.8.8"}}, trusted),
            "10.9.9.9");
  EXPECT_EQ(client_of("10.0.0.1", {{"X-Forwarded-For", "203.0.113.5, nonsense"}}, trusted),
            "(unknown)");
}

TEST(client_ip, trusted_proxies_parse_from_config_or_name_the_bad_entry) {
  EXPECT_EQ(parse_trusted_proxies({"10.0.0.0/8", " ::1 "}).size(), 2u);
  try {
    parse_trusted_proxies({"10.0.0.0/8", "10.0.0.1/8"});
    ADD_FAILURE() << "accepted host bits";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::config);
    EXPECT_NE(std::string(e.what()).find("entry 2"), std::string::npos);
  }
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

// ---- idempotency ------------------------------------------------------------------------------

TEST_F(routes_test, a_retry_with_the_same_idempotency_key_replays_the_first_answer) {
  auto headers = json_with(admin_);
  headers.emplace_back("Idempotency-Key", "order-4711");
  const std::string body = R"({"name":"once","environment":"live"})";
  auto first = call("POST", "/v1/keys", body, headers);
  ASSERT_EQ(first.status, 201u);
  EXPECT_EQ(header_of(first, "Idempotent-Replayed"), "(absent)");
  const auto after_first = store_.head_seq();
  auto second = call("POST", "/v1/keys", body, headers);
  EXPECT_EQ(second.status, 201u);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(header_of(second, "Idempotent-Replayed"), "true");
  EXPECT_EQ(header_of(second, "Location"), header_of(first, "Location"));
  EXPECT_EQ(header_of(second, "Cache-Control"), "no-store");
  EXPECT_EQ(header_of(second, "Keyledger-Version"), "2026-11-23");
  EXPECT_EQ(store_.head_seq(), after_first) << "nothing appended by the replay";
  // The stored answer holds a secret: it is sealed.
  EXPECT_EQ(idempotency_.all_responses().find(string_field(first.body, "key")), std::string::npos);
  EXPECT_NE(store_.events().back().metadata.find("order-4711"), std::string::npos);

  auto other = call("POST", "/v1/keys", R"({"name":"twice","environment":"live"})", headers);
  EXPECT_EQ(other.status, 422u);
  EXPECT_EQ(code_of(other), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(store_.head_seq(), after_first);

  // Another caller's Idempotency-Key space is its own.
  auto writer = create(R"({"name":"w","environment":"live","scopes":["keys:write"]})");
  auto theirs = json_with(writer.key);
  theirs.emplace_back("Idempotency-Key", "order-4711");
  EXPECT_EQ(call("POST", "/v1/keys", body, theirs).status, 201u);
}

TEST_F(routes_test, a_retry_while_the_first_runs_is_409_and_an_abandoned_claim_is_taken_over) {
  auto k = create(R"({"name":"del","environment":"live"})");
  auto headers = json_with(admin_);
  headers.emplace_back("Idempotency-Key", "del-1");
  ASSERT_EQ(call("DELETE", "/v1/keys/" + k.id, "", headers).status, 204u);
  idempotency_.mark_pending("del-1");
  auto busy = call("DELETE", "/v1/keys/" + k.id, "", headers);
  EXPECT_EQ(busy.status, 409u);
  EXPECT_EQ(code_of(busy), "IDEMPOTENCY_IN_PROGRESS");
  EXPECT_EQ(header_of(busy, "Retry-After"), "1");
  clock_.advance(61s);
  EXPECT_EQ(call("DELETE", "/v1/keys/" + k.id, "", headers).status, 204u);
}

TEST_F(routes_test, a_5xx_is_not_kept_so_a_retry_runs_again) {
  auto headers = json_with(admin_);
  headers.emplace_back("Idempotency-Key", "flaky-1");
  const std::string body = R"({"name":"flaky","environment":"live"})";
  store_.fail_next_append(infra::errc::unavailable);
  const auto before = store_.head_seq();
  auto failed = call("POST", "/v1/keys", body, headers);
  EXPECT_EQ(failed.status, 503u);
  EXPECT_EQ(code_of(failed), "UNAVAILABLE");
  EXPECT_EQ(store_.head_seq(), before);
  auto retried = call("POST", "/v1/keys", body, headers);
  EXPECT_EQ(retried.status, 201u);
  EXPECT_EQ(header_of(retried, "Idempotent-Replayed"), "(absent)");
}

TEST_F(routes_test, an_idempotency_key_must_be_printable_and_never_an_api_key) {
  const auto before = store_.head_seq();
  for (const std::string& bad : {admin_, std::string("with spaces"), std::string(256, 'x')}) {
    auto headers = json_with(admin_);
    headers.emplace_back("Idempotency-Key", bad);
    auto r = call("POST", "/v1/keys", R"({"name":"ci","environment":"live"})", headers);
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.body.find(admin_), std::string::npos);
  }
  EXPECT_EQ(store_.head_seq(), before);
  EXPECT_EQ(idempotency_.size(), 0u);
}

// ---- the pool ---------------------------------------------------------------------------------

TEST_F(routes_test, when_the_pool_queue_is_full_then_503_overloaded_with_retry_after) {
  // Occupy the single worker, then fill the queue until the pool refuses. The gates are shared
  // with the job: the worker may still be inside wait() when this test body returns.
  auto release = std::make_shared<std::latch>(1);
  auto running = std::make_shared<std::latch>(1);
  struct releaser {
    std::shared_ptr<std::latch> gate;
    ~releaser() { gate->count_down(); }  // on every exit path, so teardown can join
  } guard{release};
  ASSERT_TRUE(pool_.try_submit([release, running](std::size_t) {
    running->count_down();
    release->wait();
  }));
  running->wait();
  int queued = 0;
  while (queued < 1000 && pool_.try_submit([](std::size_t) {})) ++queued;
  ASSERT_LT(queued, 1000);

  auto r = call("GET", "/v1/keys/key_0000000000000000000000", "", json_with(admin_));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(code_of(r), "OVERLOADED");
  EXPECT_EQ(header_of(r, "Retry-After"), "1");
  // Verification never needs the pool.
  EXPECT_EQ(check(admin_).status, 200u);
}

// ---- roles ------------------------------------------------------------------------------------

using domain::role;

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

// ---- sessions ---------------------------------------------------------------------------------

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

// ---- users ------------------------------------------------------------------------------------

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

// ---- workspace --------------------------------------------------------------------------------

TEST_F(routes_test, the_workspace_settings_are_read_and_changed_by_those_allowed) {
  auto got = call("GET", "/v1/workspace", "", json_with(admin_));
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(
      got.body,
      R"({"id":")" + workspace_id_ +
          R"(","name":"acme","key_prefix":"kl","key_policy":{"default_lifespan_days":90,"max_lifespan_days":365,"allow_no_expiry":false,"names_allow_spaces":true},"scope_catalog":["leads:read","leads:write","calendar:read"]})");
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
  };
  for (const auto& [body, code] : bad) {
    EXPECT_EQ(code_of(call("PATCH", "/v1/workspace", body, json_with(admin_))), code) << body;
  }
  EXPECT_EQ(store_.head_seq(), before);
}

// ---- isolation --------------------------------------------------------------------------------

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
}  // namespace keyledger::services

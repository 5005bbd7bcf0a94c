#pragma once

// The fixture every HTTP route test shares: the API handler driven directly (no sockets),
// over the in-memory event store and fakes of the telemetry, idempotency and people stores,
// with a bootstrapped workspace, its owner and admin key. One file of tests per endpoint
// group beside it (routing_test, key_routes_test, verify_routes_test, people_routes_test,
// workspace_routes_test); the real socket path is covered by tests/e2e.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>

#include "domain/keys/key_format.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/key_service.hpp"
#include "services/app/leaks/leak_reporters.hpp"
#include "services/app/leaks/leak_service.hpp"
#include "services/app/oauth/authorization_service.hpp"
#include "services/app/oauth/client_service.hpp"
#include "services/app/oauth/introspection.hpp"
#include "services/app/oauth/signing_key_ring.hpp"
#include "services/app/oauth/signing_key_service.hpp"
#include "services/app/oauth/token_service.hpp"
#include "services/app/rate_limiter.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/app/user_service.hpp"
#include "services/app/verifier.hpp"
#include "services/app/webhooks/endpoint_service.hpp"
#include "services/app/workspace_service.hpp"
#include "services/http/api_handler.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/oauth/oauth_routes.hpp"
#include "services/http/openapi_document.hpp"
#include "services/http/webhooks/webhook_routes.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/directory_view.hpp"
#include "services/projections/oauth_client_view.hpp"
#include "services/projections/oauth_grant_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"
#include "tests/support/fake_token_signer.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_people_store.hpp"
#include "tests/support/memory_signing_key_store.hpp"
#include "tests/support/memory_webhook_store.hpp"
#include "tests/support/p256_test_signer.hpp"
#include "tests/unit/services/http/audit_parts.hpp"

namespace keyledger::services::routes_testing {

using namespace std::chrono_literals;
using headers_t = std::vector<std::pair<std::string, std::string>>;
using domain::role;

/// The identifier of the leak reporter key route tests sign reports with.
inline constexpr std::string_view reporter_key_id = "test-reporter";

/// The reporter keys of route tests: `signer`'s public key under reporter_key_id.
inline leak_reporters reporters_of(const test_support::p256_test_signer& signer) {
  leak_reporters out;
  out.add(std::string(reporter_key_id), *infra::ecdsa_p256_verifier::from_pem(signer.public_pem()));
  return out;
}

/// The issuer the OAuth endpoints are configured with in route tests.
inline constexpr std::string_view issuer = "http://127.0.0.1:8080";

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

inline rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

inline std::string header_of(const infra::http_response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return std::string(v);
  }
  return "(absent)";
}

inline std::string code_of(const infra::http_response& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str(), r.body.size());  // HEAD answers have no body
  return d.IsObject() && d.HasMember("code") && d["code"].IsString() ? d["code"].GetString()
                                                                     : "(none)";
}

inline std::string string_field(const std::string& body, const char* name) {
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
        oauth_client_service_(hasher_, random_, clock_),
        tokens_({hasher_, random_, clock_, signer_, directory_, view_, oauth_grants_,
                 {std::string(issuer), std::string(issuer)}}),
        introspection_({hasher_, clock_, signer_, view_, oauth_clients_, oauth_grants_,
                        directory_, std::string(issuer)}),
        authorizations_({hasher_, random_, clock_, directory_, view_, oauth_grants_}),
        interactions_(infra::derive_key(std::string(32, 's'), "keyledger/oauth/interaction/v1")),
        oauth_{oauth_clients_, oauth_grants_,  oauth_client_service_, tokens_,
               introspection_, authorizations_, interactions_, signing_keys_,
               {std::string(issuer), std::string(issuer)}},
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

  /// `leaks`: POST /v1/leaks with the fixture's reporter key (false: no reporter configured).
  infra::request_handler handler_with(std::vector<domain::cidr> trusted, bool loopback = false,
                                      bool leaks = true) {
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
        {},
        oauth_,
        &audit_.components,
        log_mismatch_,
        leaks ? &leak_reporters_ : nullptr,
        leaks ? &leak_service_ : nullptr,
        &webhooks_,
    });
  }

  /// Applies what the store holds to the views, as the subscription would (the directory
  /// first).
  void feed() {
    std::lock_guard lock(feed_mutex_);
    for (const auto& e : store_.read_all(view_.applied_seq(), 1000)) {
      directory_.apply(e);
      if (oauth_clients_.wants(e)) oauth_clients_.apply(e);
      if (oauth_grants_.wants(e)) oauth_grants_.apply(e);
      if (webhook_endpoints_.wants(e)) webhook_endpoints_.apply(e);
      view_.apply(e);
      if (signing_keys_.wants(e)) signing_keys_.apply(e);
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
  audit_parts audit_{store_, clock_};
  std::function<std::optional<std::string>()> log_mismatch_;  ///< what /readyz is told
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
  oauth_client_view oauth_clients_;
  oauth_grant_view oauth_grants_;
  client_service oauth_client_service_;
  test_support::fake_token_signer signer_;
  token_service tokens_;
  introspection_service introspection_;
  authorization_service authorizations_;
  infra::response_sealer interactions_;
  oauth_components oauth_;
  infra::blocking_pool pool_;
  // The signing keys: their sealed private halves, the ring the API publishes, the service
  // that makes them.
  test_support::memory_signing_key_store signing_secrets_;
  infra::response_sealer signing_sealer_{
      infra::derive_key(std::string(32, 's'), signing_key_sealing_info)};
  signing_key_ring signing_keys_{
      signing_sealer_,
      [this] { return std::make_unique<test_support::signing_key_store_ref>(signing_secrets_); }, clock_};
  signing_key_service signing_key_service_{signing_sealer_, random_, clock_};
  // Leak reports: the reporter's key pair (it signs as GitHub would), the keys the server
  // trusts, the service that acts on reports.
  test_support::p256_test_signer reporter_;
  leak_reporters leak_reporters_ = reporters_of(reporter_);
  leak_service leak_service_{view_, keys_, workspaces_, hasher_, usage_, clock_};
  // Webhook endpoints: their sealed secrets and deliveries, the view, the service.
  test_support::memory_webhook_store webhook_store_;
  webhook_endpoint_view webhook_endpoints_;
  infra::response_sealer webhook_sealer_{
      infra::derive_key(std::string(32, 's'), webhook_secret_sealing_info)};
  endpoint_service endpoint_service_{webhook_sealer_, random_, clock_};
  webhook_components webhooks_{
      webhook_endpoints_, endpoint_service_,
      [this](std::size_t) -> infra::webhook_store& { return webhook_store_; }};
  infra::request_handler handler_;
  std::mutex feed_mutex_;
  std::string admin_;
  std::string admin_id_;
  std::string workspace_id_;
  std::string owner_id_;
  std::string owner_password_;
};

inline std::vector<domain::cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<domain::cidr> out;
  for (const char* t : texts) out.push_back(*domain::parse_cidr(t));
  return out;
}

}  // namespace keyledger::services::routes_testing

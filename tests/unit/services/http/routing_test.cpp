// Routing, versioning, authentication answers, the route table against openapi.json, client
// addresses behind proxies, Idempotency-Key replays and overload.
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

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

}  // namespace
}  // namespace keyledger::services::routes_testing

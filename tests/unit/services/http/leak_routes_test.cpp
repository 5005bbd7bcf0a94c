// POST /v1/leaks: signed GitHub secret scanning reports revoke (or disable) the keys they name;
// unsigned, unknown-key, badly signed, malformed or oversized reports change nothing.
#include "domain/encoding.hpp"
#include "domain/keys/key_scan.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

class leak_routes_test : public routes_test {
 protected:
  /// A report body in GitHub's format, one element per token.
  static std::string report_of(const std::vector<std::string>& tokens,
                               const std::string& url = "https://github.com/o/r/blob/1/a.txt") {
    std::string body = "[";
    for (const auto& t : tokens) {
      if (body.size() > 1) body += ",";
      body += R"({"token":")" + t + R"(","type":"keyledger_api_key","url":")" + url +
              R"(","source":"content"})";
    }
    return body + "]";
  }

  headers_t signed_by(const test_support::p256_test_signer& signer, const std::string& body,
                      std::string key_id = std::string(reporter_key_id)) {
    return {{"Content-Type", "application/json"},
            {"Github-Public-Key-Identifier", std::move(key_id)},
            {"Github-Public-Key-Signature", signer.sign_base64(body)}};
  }

  infra::http_response report(const std::string& body) {
    return call("POST", "/v1/leaks", body, signed_by(reporter_, body));
  }

  std::string verify_code(const std::string& key) {
    return string_field(call("POST", "/v1/keys/verify", R"({"key":")" + key + R"("})",
                             {{"Content-Type", "application/json"}})
                            .body,
                        "code");
  }

  std::vector<std::string> types_of(const std::string& key_id) {
    std::vector<std::string> out;
    for (const auto& e : store_.read_stream(domain::key_stream_id(key_id))) out.push_back(e.type);
    return out;
  }

  static std::string sha256_hex(const std::string& text) {
    const auto d = infra::sha256(text);
    return infra::to_hex(d);
  }

  /// A well-formed key of prefix kl that no one issued (the checksum is right).
  std::string unissued_key() {
    return domain::generate_key("kl", domain::environment::live, random_);
  }
};

TEST_F(leak_routes_test, a_signed_report_revokes_the_keys_it_names_and_labels_every_string) {
  const auto live = create(R"({"name":"live","environment":"live"})");
  const auto test = create(R"({"name":"sandbox","environment":"test"})");
  const auto other = create(R"({"name":"bystander","environment":"live"})");
  std::string bad_checksum = live.key;
  bad_checksum.back() = bad_checksum.back() == 'A' ? 'B' : 'A';
  const auto unknown = unissued_key();
  const std::string unrelated = "ghp_notakeyledgerkey";
  const auto body = report_of({live.key, test.key, bad_checksum, unknown, unrelated});

  const auto r = report(body);
  ASSERT_EQ(r.status, 200u) << r.body;
  // The answer: GitHub's feedback format, the token only as its SHA-256.
  const auto d = parse(r.body);
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(d.Size(), 5u);
  const char* labels[] = {"true_positive", "true_positive", "false_positive", "false_positive",
                          "false_positive"};
  const std::string tokens[] = {live.key, test.key, bad_checksum, unknown, unrelated};
  for (rapidjson::SizeType i = 0; i < 5; ++i) {
    EXPECT_EQ(std::string(d[i]["label"].GetString()), labels[i]) << i;
    EXPECT_EQ(std::string(d[i]["token_hash"].GetString()), sha256_hex(tokens[i])) << i;
    EXPECT_EQ(std::string(d[i]["token_type"].GetString()), "keyledger_api_key");
    EXPECT_EQ(d[i].MemberCount(), 3u);
  }
  EXPECT_EQ(r.body.find(live.key), std::string::npos) << "the secret is never echoed";
  EXPECT_FALSE(domain::contains_key(r.body));

  // Both keys are refused at once; every other key keeps working.
  EXPECT_EQ(verify_code(live.key), "REVOKED");
  EXPECT_EQ(verify_code(test.key), "REVOKED");
  EXPECT_EQ(verify_code(other.key), "VALID");
  EXPECT_EQ(types_of(live.id), (std::vector<std::string>{"KeyCreated", "KeyLeaked", "KeyRevoked"}));
  EXPECT_EQ(types_of(other.id), (std::vector<std::string>{"KeyCreated"}));
  const auto events = store_.read_stream(domain::key_stream_id(live.id));
  const auto& leaked = events[1];
  EXPECT_EQ(leaked.payload.find(live.key), std::string::npos);
  EXPECT_NE(leaked.payload.find(R"("url":"https://github.com/o/r/blob/1/a.txt")"),
            std::string::npos)
      << leaked.payload;
  EXPECT_NE(leaked.payload.find(R"("source":"content","action":"revoked")"), std::string::npos)
      << leaked.payload;
  EXPECT_NE(leaked.metadata.find("leak-reporter:test-reporter"), std::string::npos)
      << leaked.metadata;

  // The history tells it; the strings that were no key are counted against the workspace.
  const auto history = call("GET", "/v1/keys/" + live.id + "/history", "", json_with(admin_));
  EXPECT_NE(history.body.find("Reported leaked (found in content at https://github.com/o/r/"),
            std::string::npos)
      << history.body;
  usage_.flush(telemetry_);
  const auto failures = call("GET", "/v1/auth-failures", "", json_with(admin_)).body;
  EXPECT_NE(failures.find(R"("code":"LEAK_MALFORMED","count":1)"), std::string::npos) << failures;
  EXPECT_NE(failures.find(R"("code":"LEAK_UNKNOWN","count":1)"), std::string::npos) << failures;
}

TEST_F(leak_routes_test, under_on_leak_disable_the_key_is_disabled_and_may_be_enabled_again) {
  ASSERT_EQ(call("PATCH", "/v1/workspace", R"({"on_leak":"disable"})", json_with(admin_)).status,
            200u);
  const auto k = create(R"({"name":"leaky","environment":"live"})");
  const auto r = report(report_of({k.key}));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(string_field(r.body.substr(1, r.body.size() - 2), "label"), "true_positive");
  EXPECT_EQ(verify_code(k.key), "DISABLED");
  EXPECT_EQ(types_of(k.id), (std::vector<std::string>{"KeyCreated", "KeyLeaked", "KeyDisabled"}));
  // A second, different report of the disabled key: recorded, nothing more to do.
  const auto again = report(report_of({k.key}, "https://gist.github.com/o/2"));
  ASSERT_EQ(again.status, 200u);
  EXPECT_EQ(types_of(k.id),
            (std::vector<std::string>{"KeyCreated", "KeyLeaked", "KeyDisabled", "KeyLeaked"}));
  const auto patched = call("PATCH", "/v1/keys/" + k.id, R"({"enabled":true})", json_with(admin_));
  EXPECT_EQ(patched.status, 200u) << patched.body;
  EXPECT_EQ(verify_code(k.key), "VALID");
}

TEST_F(leak_routes_test, the_same_report_again_appends_nothing_and_a_key_named_twice_acts_once) {
  const auto k = create(R"({"name":"twice","environment":"live"})");
  const auto body = report_of({k.key, k.key});
  const auto first = report(body);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(parse(first.body).Size(), 2u);
  EXPECT_EQ(types_of(k.id), (std::vector<std::string>{"KeyCreated", "KeyLeaked", "KeyRevoked"}));
  const auto head = store_.head_seq();
  const auto retried = report(body);
  ASSERT_EQ(retried.status, 200u) << retried.body;
  EXPECT_EQ(retried.body, first.body);
  EXPECT_EQ(store_.head_seq(), head) << "a redelivered report appends nothing";
}

TEST_F(leak_routes_test, a_url_that_holds_a_key_is_withheld_from_the_event) {
  const auto k = create(R"({"name":"in-url","environment":"live"})");
  const auto r = report(report_of({k.key}, "https://gist.example/x?k=" + k.key));
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto events = store_.read_stream(domain::key_stream_id(k.id));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_NE(events[1].payload.find(R"("url":"")"), std::string::npos) << events[1].payload;
  EXPECT_FALSE(domain::contains_key(events[1].payload));
}

TEST_F(leak_routes_test, unsigned_unknown_key_or_badly_signed_reports_change_nothing) {
  const auto k = create(R"({"name":"target","environment":"live"})");
  const auto body = report_of({k.key});
  const test_support::p256_test_signer stranger;
  const auto head = store_.head_seq();
  std::string tampered = body;
  tampered.insert(tampered.size() - 1, R"(,{"token":"x","type":"t"})");
  auto without = [](headers_t h, std::string_view name) {
    std::erase_if(h, [&](const auto& kv) { return kv.first == name; });
    return h;
  };
  auto with_signature = [&](std::string sig) {
    auto h = without(signed_by(reporter_, body), "Github-Public-Key-Signature");
    h.emplace_back("Github-Public-Key-Signature", std::move(sig));
    return h;
  };
  const std::string good = reporter_.sign_base64(body);
  const struct {
    const char* what;
    std::string body;
    headers_t headers;
    const char* code;
  } cases[] = {
      {"no headers", body, {{"Content-Type", "application/json"}}, "LEAK_SIGNATURE_REQUIRED"},
      {"no signature", body, without(signed_by(reporter_, body), "Github-Public-Key-Signature"),
       "LEAK_SIGNATURE_REQUIRED"},
      {"no key id", body, without(signed_by(reporter_, body), "Github-Public-Key-Identifier"),
       "LEAK_SIGNATURE_REQUIRED"},
      {"unknown key id", body, signed_by(reporter_, body, "another-key"), "UNKNOWN_REPORTER_KEY"},
      {"another key's signature", body, signed_by(stranger, body), "INVALID_SIGNATURE"},
      {"signature of another body", tampered, signed_by(reporter_, body), "INVALID_SIGNATURE"},
      {"not base64", body, with_signature("not base64!"), "INVALID_SIGNATURE"},
      {"base64url", body, with_signature(domain::base64url_encode(reporter_.sign(body))),
       "INVALID_SIGNATURE"},
      {"truncated", body, with_signature(good.substr(0, good.size() - 4)), "INVALID_SIGNATURE"},
  };
  for (const auto& c : cases) {
    const auto r = call("POST", "/v1/leaks", c.body, c.headers);
    EXPECT_EQ(r.status, 401u) << c.what << ": " << r.body;
    EXPECT_EQ(code_of(r), c.code) << c.what;
  }
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(verify_code(k.key), "VALID");
}

TEST_F(leak_routes_test, a_signed_report_that_is_not_well_formed_changes_nothing) {
  const auto k = create(R"({"name":"target","environment":"live"})");
  const std::string entry = R"({"token":")" + k.key + R"(","type":"keyledger_api_key"})";
  const auto head = store_.head_seq();
  const std::pair<std::string, const char*> bad[] = {
      {"", "INVALID_JSON"},
      {"{}", "INVALID_JSON"},
      {"[" + entry + "] x", "INVALID_JSON"},
      {"[" + entry + ",1]", "INVALID_JSON"},
      {"[" + entry + R"(,{"type":"keyledger_api_key"}])", "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":"","type":"t"}])", "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":"x"}])", "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":"x","type":"a b"}])", "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":1,"type":"t"}])", "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":"x","type":"t","url":"https://x.example/a b"}])",
       "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":"x","type":"t","url":null}])", "INVALID_FIELD"},
      {"[" + entry + R"(,{"token":"x","type":"t","source":"con tent"}])", "INVALID_FIELD"},
  };
  for (const auto& [body, code] : bad) {
    const auto r = report(body);
    EXPECT_EQ(r.status, 400u) << body << ": " << r.body;
    EXPECT_EQ(code_of(r), code) << body;
    EXPECT_EQ(r.body.find(k.key), std::string::npos) << "never echoed";
  }
  // The element that broke a rule is named.
  EXPECT_NE(report("[" + entry + R"(,{"token":"x"}])").body.find("element [1]: 'type'"),
            std::string::npos);
  // Signed, but not JSON by its media type.
  const auto body = "[" + entry + "]";
  auto h = signed_by(reporter_, body);
  h[0].second = "text/plain";
  EXPECT_EQ(call("POST", "/v1/leaks", body, h).status, 415u);
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(verify_code(k.key), "VALID");
  // Unknown members are GitHub's to add: ignored.
  const auto extra = "[" + entry.substr(0, entry.size() - 1) + R"(,"commit":"abc"}])";
  EXPECT_EQ(report(extra).status, 200u);
  EXPECT_EQ(verify_code(k.key), "REVOKED");
}

TEST_F(leak_routes_test, without_a_reporter_key_the_endpoint_refuses_every_report) {
  const auto k = create(R"({"name":"target","environment":"live"})");
  const auto head = store_.head_seq();
  const auto handler = handler_with({}, false, false);
  const auto body = report_of({k.key});
  const auto r = call_with(handler, "POST", "/v1/leaks", body, signed_by(reporter_, body));
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(code_of(r), "LEAK_REPORTS_NOT_CONFIGURED");
  EXPECT_EQ(store_.head_seq(), head);
  EXPECT_EQ(verify_code(k.key), "VALID");
}

TEST_F(leak_routes_test, an_expired_key_gets_the_report_recorded_and_stays_refused) {
  const auto k = create(R"({"name":"old","environment":"live","expires_in_days":1})");
  clock_.advance(std::chrono::hours(25));
  const auto r = report(report_of({k.key}));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("true_positive"), std::string::npos);
  const auto events = store_.read_stream(domain::key_stream_id(k.id));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "KeyLeaked");
  EXPECT_NE(events[1].payload.find(R"("action":"none")"), std::string::npos);
  EXPECT_EQ(verify_code(k.key), "EXPIRED");
}

}  // namespace
}  // namespace keyledger::services::routes_testing

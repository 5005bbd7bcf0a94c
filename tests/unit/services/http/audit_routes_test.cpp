// /v1/audit: the public key without authentication; checkpoints, proofs and a workspace's
// provable events with audit:read only; a workspace sees its own events and nothing of another
// but hashes; bad parameters are 400; /readyz says when the log does not match.
#include "domain/audit/merkle.hpp"
#include "infra/crypto/crypto.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

namespace audit = domain::audit;

class audit_routes_test : public routes_test {
 protected:
  static audit::digest digest(const rapidjson::Value& v) {
    audit::digest d{};
    EXPECT_TRUE(infra::from_hex(v.GetString(), d));
    return d;
  }
  static std::vector<audit::digest> proof_of(const rapidjson::Value& v) {
    std::vector<audit::digest> out;
    for (const auto& h : v["proof"].GetArray()) out.push_back(digest(h));
    return out;
  }
};

TEST_F(audit_routes_test, the_public_key_is_served_to_anyone) {
  auto r = call("GET", "/v1/audit/public-key");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto d = parse(r.body);
  EXPECT_EQ(std::string(d["origin"].GetString()), "keyledger.test/routes");
  EXPECT_EQ(std::string(d["algorithm"].GetString()), "Ed25519");
  EXPECT_EQ(std::string(d["verifier_key"].GetString()), audit_.key.verifier_key());
  EXPECT_TRUE(checkpoint_verifier::parse(d["verifier_key"].GetString()));
}

TEST_F(audit_routes_test, checkpoints_and_proofs_take_audit_read) {
  create(R"({"name":"a","environment":"live"})");
  create(R"({"name":"b","environment":"live"})");
  audit_.sign();
  const auto narrow = create(R"({"name":"n","environment":"live","scopes":["keys:read"]})");
  for (const auto& target :
       {"/v1/audit/checkpoints", "/v1/audit/proofs/inclusion?seq=1&size=2",
        "/v1/audit/proofs/consistency?from_size=1&to_size=2", "/v1/audit/events"}) {
    EXPECT_EQ(call("GET", target).status, 401u) << target;
    EXPECT_EQ(call("GET", target, "", json_with(narrow.key)).status, 403u) << target;
    EXPECT_EQ(call("GET", target, "", json_with(admin_)).status, 200u) << target;
  }
  // A member's session: no audit.read; an auditor's: yes.
  const auto member = join(domain::role::member, "m@acme.example");
  const auto auditor = join(domain::role::auditor, "a@acme.example");
  EXPECT_EQ(call("GET", "/v1/audit/checkpoints", "", as(member, false)).status, 403u);
  EXPECT_EQ(call("GET", "/v1/audit/checkpoints", "", as(auditor, false)).status, 200u);
}

TEST_F(audit_routes_test, proofs_verify_against_the_signed_checkpoints) {
  for (int i = 0; i < 3; ++i) create(R"({"name":"k","environment":"live"})");
  audit_.sign();
  auto r = call("GET", "/v1/audit/checkpoints?limit=1", "", json_with(admin_));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto page = parse(r.body);
  ASSERT_EQ(page["checkpoints"].Size(), 1u);
  ASSERT_TRUE(page["next_from"].IsInt64());
  const auto first_size = page["checkpoints"][0]["tree_size"].GetUint64();
  auto rest = parse(
      call("GET", "/v1/audit/checkpoints?from=" + std::to_string(page["next_from"].GetUint64()), "",
           json_with(admin_))
          .body);
  ASSERT_GE(rest["checkpoints"].Size(), 1u);
  const auto& latest = rest["checkpoints"][rest["checkpoints"].Size() - 1];
  const auto size = latest["tree_size"].GetUint64();
  auto opened = audit_.key.verifier_key().empty()
                    ? std::nullopt
                    : std::optional(checkpoint_verifier::parse(audit_.key.verifier_key())
                                        ->open(latest["note"].GetString()));
  ASSERT_TRUE(opened && *opened);
  const auto root = opened->value().root;
  EXPECT_EQ(digest(latest["root_hash"]), root);
  for (std::uint64_t seq = 1; seq <= size; ++seq) {
    auto p = parse(call("GET",
                        "/v1/audit/proofs/inclusion?seq=" + std::to_string(seq) +
                            "&size=" + std::to_string(size),
                        "", json_with(admin_))
                       .body);
    EXPECT_EQ(audit::verify_inclusion(audit_.hasher, seq - 1, size, digest(p["leaf_hash"]),
                                      proof_of(p), root),
              audit::proof_verdict::valid);
  }
  auto c = parse(call("GET",
                      "/v1/audit/proofs/consistency?from_size=" + std::to_string(first_size) +
                          "&to_size=" + std::to_string(size),
                      "", json_with(admin_))
                     .body);
  EXPECT_EQ(audit::verify_consistency(audit_.hasher, first_size, size, proof_of(c),
                                      digest(page["checkpoints"][0]["root_hash"]), root),
            audit::proof_verdict::valid);
}

TEST_F(audit_routes_test, bad_parameters_are_400_and_change_nothing) {
  create(R"({"name":"k","environment":"live"})");
  audit_.sign();
  const auto head = store_.head_seq();
  for (const auto& target :
       {"/v1/audit/proofs/inclusion?seq=0&size=1", "/v1/audit/proofs/inclusion?seq=1",
        "/v1/audit/proofs/inclusion?size=1", "/v1/audit/proofs/inclusion?seq=2&size=1",
        "/v1/audit/proofs/inclusion?seq=1&size=99999", "/v1/audit/proofs/inclusion?seq=01&size=1",
        "/v1/audit/proofs/inclusion?seq=-1&size=1", "/v1/audit/proofs/inclusion?seq=x&size=1",
        "/v1/audit/proofs/inclusion?seq=1&size=99999999999999999999999",
        "/v1/audit/proofs/consistency?from_size=2&to_size=1",
        "/v1/audit/proofs/consistency?from_size=0&to_size=1",
        "/v1/audit/proofs/consistency?from_size=1", "/v1/audit/checkpoints?limit=0",
        "/v1/audit/checkpoints?limit=1001", "/v1/audit/events?after=abc",
        "/v1/audit/events?limit=0", "/v1/audit/events?other=1"}) {
    auto r = call("GET", target, "", json_with(admin_));
    EXPECT_EQ(r.status, 400u) << target << " " << r.body;
    EXPECT_FALSE(code_of(r).empty()) << target;
  }
  EXPECT_EQ(store_.head_seq(), head);
}

// Found by tests/fuzz http (corpus/http/regression_two_bad_parameters): with two bad parameters
// the endpoint answered twice. Each request is answered exactly once, naming the first one.
TEST_F(audit_routes_test, two_bad_parameters_are_answered_once) {
  for (const auto& target :
       {"/v1/audit/proofs/inclusion?seq=x&size=y",
        "/v1/audit/proofs/consistency?from_size=a&to_size=b",
        "/v1/audit/checkpoints?from=x&limit=0", "/v1/audit/events?after=x&limit=0"}) {
    infra::http_request req;
    req.method = "GET";
    req.target = target;
    req.headers = json_with(admin_);
    req.request_id = "req_test";
    req.remote_ip = "127.0.0.1";
    std::vector<infra::http_response> answers;
    handler_(std::move(req), [&](infra::http_response r) { answers.push_back(std::move(r)); });
    ASSERT_EQ(answers.size(), 1u) << target;
    EXPECT_EQ(answers[0].status, 400u) << target << " " << answers[0].body;
  }
}

TEST_F(audit_routes_test, a_workspace_reads_its_own_events_and_proves_them) {
  create(R"({"name":"mine","environment":"live"})");
  const auto other = bootstrap("other", "ot");
  call("POST", "/v1/keys", R"({"name":"theirs","environment":"live"})", json_with(other.key));
  create(R"({"name":"mine too","environment":"test"})");
  feed();
  audit_.sign();
  audit_.writer.run_once(audit_.store);
  clock_.advance(std::chrono::hours(2));
  audit_.sign();  // a time-based checkpoint at the head
  auto r = call("GET", "/v1/audit/events", "", json_with(admin_));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto d = parse(r.body);
  EXPECT_EQ(std::string(d["workspace_id"].GetString()), workspace_id_);
  const auto verifier = checkpoint_verifier::parse(audit_.key.verifier_key());
  auto cp = verifier->open(d["checkpoint"]["note"].GetString());
  ASSERT_TRUE(cp) << cp.error();
  EXPECT_EQ(cp->size, store_.head_seq());
  ASSERT_GE(d["events"].Size(), 3u);
  const auto all = store_.events();
  bool saw_mine = false;
  for (const auto& e : d["events"].GetArray()) {
    const auto seq = e["global_seq"].GetUint64();
    const auto& stored = all[seq - 1];
    EXPECT_EQ(std::string(e["payload"].GetString()), stored.payload);
    EXPECT_EQ(std::string(e["metadata"].GetString()), stored.metadata);
    EXPECT_EQ(stored.payload.find(other.workspace_id), std::string::npos) << stored.payload;
    if (stored.payload.find("mine too") != std::string::npos) saw_mine = true;
    EXPECT_EQ(audit::verify_inclusion(audit_.hasher, seq - 1, cp->size,
                                      audit_.hasher.leaf(digest(e["hash"])), proof_of(e), cp->root),
              audit::proof_verdict::valid);
  }
  EXPECT_TRUE(saw_mine);
  // The other workspace sees its own only.
  auto theirs = parse(call("GET", "/v1/audit/events", "", json_with(other.key)).body);
  for (const auto& e : theirs["events"].GetArray()) {
    EXPECT_EQ(std::string(e["payload"].GetString()).find(workspace_id_), std::string::npos);
  }
  EXPECT_GE(theirs["events"].Size(), 2u);
}

TEST_F(audit_routes_test, readyz_answers_503_when_the_log_does_not_match) {
  EXPECT_EQ(call("GET", "/readyz").status, 200u);
  log_mismatch_ = [] { return std::optional<std::string>("checkpoint 8: its root differs"); };
  handler_ = handler_with({});
  auto r = call("GET", "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(code_of(r), "LOG_MISMATCH");
  EXPECT_NE(r.body.find("checkpoint 8: its root differs"), std::string::npos);
}

}  // namespace
}  // namespace keyledger::services::routes_testing

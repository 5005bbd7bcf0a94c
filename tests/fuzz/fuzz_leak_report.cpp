// Leaked-key reports end to end: the body (with "@KEY@" standing for a live key of the fixture)
// signed as GitHub would, POSTed to /v1/leaks through the API handler, so that the real report
// reader (services/http/leaks, json_body::parse_object_array and the domain/keys/leak_report
// rules) and the leak service run on it. Also the domain rules alone on the whole input.
// Invariants: never a 500; no event appended holds a well-formed key (events never hold a
// secret, and a report's URL can); recorded_leak_url keeps no key either.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/keys/key_scan.hpp"
#include "domain/keys/leak_report.hpp"
#include "tests/fuzz/http_fixture.hpp"

// The fixture is made before the first input, so that libFuzzer's per-input leak check does not
// count it.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  keyledger::fuzz::http_fixture::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyledger;
  const auto text = fuzz::as_text(data, size);

  if (domain::valid_leak_url(text)) {
    const auto recorded = domain::recorded_leak_url(text);
    FUZZ_CHECK(recorded.empty() || recorded == text);
    FUZZ_CHECK(!domain::contains_key(recorded));
  }
  (void)domain::valid_leak_source(text);
  (void)domain::valid_leak_type(text);
  (void)domain::parse_leak_action(text);
  (void)domain::parse_leak_response(text);

  auto& fixture = fuzz::http_fixture::get();
  const std::string body = fixture.with_credentials(std::string(text));
  if (body.size() > infra::server_options{}.body_limit) return 0;
  // Where this input's events start (the fixture's bootstrap and earlier inputs come before).
  static std::uint64_t seen = 0;
  for (const auto& e : fixture.store().read_all(seen, 100'000)) seen = e.global_seq;

  infra::http_request request;
  request.method = "POST";
  request.target = "/v1/leaks";
  request.headers = {
      {"Content-Type", "application/json"},
      {"Github-Public-Key-Identifier", std::string(services::routes_testing::reporter_key_id)},
      {"Github-Public-Key-Signature", fixture.reporter().sign_base64(body)}};
  request.body = body;
  request.remote_ip = "140.82.115.1";
  request.request_id = "req_fuzz";
  const auto answer = fixture.respond(std::move(request));
  FUZZ_CHECK(answer.status != 500);

  for (const auto& e : fixture.store().read_all(seen, 100'000)) {
    FUZZ_CHECK(!domain::contains_key(e.payload));
    FUZZ_CHECK(!domain::contains_key(e.metadata));
    seen = e.global_seq;
  }
  return 0;
}

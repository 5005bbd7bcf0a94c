// The path of a request without a socket: bytes -> the Beast request parser under the server's
// limits (infra/http/detail/wire: limit_parser, parse_buffered, rejection_for,
// to_http_request) -> the keyledger API handler (router, authenticators, every route group)
// over the in-memory stores of the route tests. Up to four pipelined requests per input, as
// one connection would carry them. Invariants: a parse failure is either answered with 400,
// 413 or 431 or closed quietly; every answer has a status in 200-599, headers that cannot
// split a response, and is never a 500 (untrusted input is refused, not failed on).
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "infra/http/detail/wire.hpp"
#include "tests/fuzz/http_fixture.hpp"

namespace {

using namespace keyledger;
namespace beast = boost::beast;

constexpr int max_requests = 4;

void check_answer(const infra::http_response& r) {
  FUZZ_CHECK(r.status >= 200 && r.status <= 599);
  FUZZ_CHECK(r.status != 500);
  for (const auto& [name, value] : r.headers) FUZZ_CHECK(infra::detail::safe_header(name, value));
}

}  // namespace

// The fixture is made before the first input, so that libFuzzer's per-input leak check does not
// count it.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  keyledger::fuzz::http_fixture::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& fixture = fuzz::http_fixture::get();
  const infra::server_options options;  // the server's limits
  const std::string bytes = fixture.with_credentials(std::string(fuzz::as_text(data, size)));

  beast::flat_buffer buffer(options.header_limit + options.body_limit + 4096);
  // Nothing to parse, or more than the server's buffer holds.
  if (bytes.empty() || bytes.size() > buffer.max_size()) return 0;
  auto space = buffer.prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  buffer.commit(bytes.size());

  for (int i = 0; i < max_requests && buffer.size() > 0; ++i) {
    infra::detail::request_parser parser;
    infra::detail::limit_parser(parser, options);
    const auto ec = infra::detail::parse_buffered(parser, buffer);
    if (ec) {
      if (const auto reject = infra::detail::rejection_for(ec, parser.is_header_done())) {
        FUZZ_CHECK(reject->status == 400 || reject->status == 413 || reject->status == 431);
      }
      return 0;
    }
    if (!parser.is_done()) return 0;  // the server would wait for the rest
    auto request = infra::detail::to_http_request(parser.release());
    request.remote_ip = (i % 2 == 0) ? "127.0.0.1" : "203.0.113.9";
    request.request_id = "req_fuzz";
    check_answer(fixture.respond(std::move(request)));
  }
  return 0;
}

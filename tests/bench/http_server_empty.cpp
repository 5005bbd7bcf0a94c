// infra::http_server with a handler that answers 200 "{}" at once: the same work as
// bench_empty_server plus what infra/http adds (request copy, request id, responder bridge).
// verify_bench.sh reports it beside the two others when it is built, so that a slow result can
// be told apart: HTTP plumbing (this vs empty) or the verification itself (keyledger vs this).
//
//   bench_http_server [--listen host:port] [--threads N]
//
// Logs the same "listening" line as keyledger (infra::log); SIGINT or SIGTERM stops it.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "infra/core/config.hpp"
#include "infra/core/error.hpp"
#include "infra/http/server.hpp"

namespace {

using keyledger::infra::http_request;
using keyledger::infra::http_response;
using keyledger::infra::responder;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_http_server: %s\nusage: bench_http_server [--listen host:port] "
               "[--threads N]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  keyledger::infra::server_options options;
  options.port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const std::string value = argv[++i];
    if (flag == "--listen") {
      try {
        keyledger::infra::parse_listen(value, options.host, options.port);
      } catch (const std::exception&) {
        usage("--listen wants host:port");
      }
    } else if (flag == "--threads") {
      try {
        options.io_threads = std::stoul(value);
      } catch (const std::exception&) {
        usage("--threads wants a number");
      }
      if (options.io_threads == 0 || options.io_threads > 64) usage("--threads wants 1..64");
    } else {
      usage("unknown option");
    }
  }

  keyledger::infra::http_server server(
      options,
      [](http_request&&, responder respond) {
        http_response r;
        r.body = "{}";
        respond(std::move(r));
      },
      [](unsigned status, std::string_view code, std::string_view) {
        http_response r;
        r.status = status;
        r.body = "{\"code\":\"" + std::string(code) + "\"}";
        return r;
      });
  try {
    server.listen();
  } catch (const keyledger::infra::error& e) {
    std::fprintf(stderr, "bench_http_server: %s\n", e.what());
    return 1;
  }
  server.run();
  return 0;
}

// The benchmark baseline: a plain Boost.Beast HTTP/1.1 server built the way keyledger's is
// (one C++20 coroutine per connection on its own strand, a deadline on every read and write,
// header and body limits, keep-alive) whose handler does nothing but answer 200 with "{}".
// verify_bench.sh measures keyledger's verification against it in the same run.
//
//   bench_empty_server [--listen host:port] [--threads N]
//
// Prints one JSON line to stderr once bound, shaped like keyledger's:
//   {"ts":"...","level":"info","event":"listening","host":"127.0.0.1","port":"40123"}
// SIGINT or SIGTERM stops it.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "infra/core/config.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The same limits and timeouts as keyledger's defaults (infra/http/server.hpp).
constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t body_limit = 64 * 1024;
constexpr std::chrono::seconds read_timeout{10};
constexpr std::chrono::seconds write_timeout{10};

struct arguments {
  std::string host = "127.0.0.1";
  std::string port = "0";
  std::size_t threads = 2;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_empty_server: %s\nusage: bench_empty_server [--listen host:port] "
               "[--threads N]\n",
               why);
  std::exit(2);
}

arguments parse_arguments(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const std::string value = argv[++i];
    if (flag == "--listen") {
      // The project's own host:port parser (IPv6 brackets, port range); only argument parsing
      // comes from keyledger: the request path below is plain Beast.
      std::uint16_t port = 0;
      try {
        keyledger::infra::parse_listen(value, a.host, port);
      } catch (const std::exception&) {
        usage("--listen wants host:port");
      }
      a.port = std::to_string(port);
    } else if (flag == "--threads") {
      try {
        a.threads = std::stoul(value);
      } catch (const std::exception&) {
        usage("--threads wants a number");
      }
      if (a.threads == 0 || a.threads > 64) usage("--threads wants 1..64");
    } else {
      usage("unknown option");
    }
  }
  return a;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

asio::awaitable<void> session(beast::tcp_stream stream) {
  beast::flat_buffer buffer;
  for (;;) {
    // Read one request under the limits.
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    stream.expires_after(read_timeout);
    auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_ec) break;  // end_of_stream is the normal close

    // Answer with an empty JSON object.
    const auto& request = parser.get();
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(request.keep_alive());
    response.body() = "{}";
    response.prepare_payload();
    stream.expires_after(write_timeout);
    auto [write_ec, write_n] = co_await http::async_write(stream, response, use_tuple);
    if (write_ec || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listener(tcp::acceptor& acceptor, asio::io_context& ioc) {
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::any_io_executor(asio::make_strand(ioc)), use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(beast::tcp_stream(std::move(socket))), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const arguments args = parse_arguments(argc, argv);
  asio::io_context ioc(static_cast<int>(args.threads));

  // Bind and listen.
  tcp::acceptor acceptor(ioc);
  try {
    tcp::resolver resolver(ioc);
    const tcp::endpoint endpoint = *resolver.resolve(args.host, args.port).begin();
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_empty_server: cannot listen on %s:%s: %s\n", args.host.c_str(),
                 args.port.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr,
               "{\"ts\":\"%s\",\"level\":\"info\",\"event\":\"listening\",\"host\":\"%s\","
               "\"port\":\"%u\"}\n",
               utc_now().c_str(), args.host.c_str(),
               static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stderr);

  // Serve until a signal.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](const beast::error_code&, int) { ioc.stop(); });
  asio::co_spawn(ioc, listener(acceptor, ioc), asio::detached);

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < args.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return 0;
}

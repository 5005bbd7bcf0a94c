#include "infra/core/log.hpp"
#include "infra/http/server.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using keyledger::infra::http_request;
using keyledger::infra::http_response;
using keyledger::infra::http_server;
using keyledger::infra::request_handler;
using keyledger::infra::responder;
using keyledger::infra::server_options;

/// No single client operation in these tests legitimately takes longer than this.
constexpr auto io_deadline = 5s;

http_response render_error(unsigned status, std::string_view code, std::string_view request_id) {
  http_response r;
  r.status = status;
  r.body =
      "{\"code\":\"" + std::string(code) + "\",\"request_id\":\"" + std::string(request_id) + "\"}";
  return r;
}

http_response text(std::string body, unsigned status = 200) {
  http_response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

/// Echoes what the server parsed, so tests can check the request conversion.
request_handler echo_handler() {
  return [](http_request&& req, responder respond) {
    http_response r = text(req.method + " " + req.target + " " + req.body);
    r.headers.emplace_back("X-Remote-Ip", req.remote_ip);
    r.headers.emplace_back("X-Test-Seen", std::string(req.header("x-TEST")));
    respond(std::move(r));
  };
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

/// A raw HTTP/1.1 client over one TCP connection; every operation has a deadline.
class raw_client {
 public:
  beast::error_code connect(std::uint16_t port) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    return run([&](auto handler) { socket_.async_connect(endpoint, handler); });
  }

  beast::error_code send(const std::string& data) {
    return run([&](auto handler) { asio::async_write(socket_, asio::buffer(data), handler); });
  }

  std::optional<http::response<http::string_body>> read_response() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(1024 * 1024);
    const auto ec = run([&](auto handler) { http::async_read(socket_, buffer_, parser, handler); });
    if (ec) return std::nullopt;
    return parser.release();
  }

  /// True if the server closes the connection without sending anything more.
  bool wait_closed() {
    char byte = 0;
    if (buffer_.size() > 0) return false;
    const auto ec =
        run([&](auto handler) { socket_.async_read_some(asio::buffer(&byte, 1), handler); });
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  template <class Start>
  beast::error_code run(Start start) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(io_deadline);
    if (!result) {
      beast::error_code ignored;
      socket_.cancel(ignored);
      ioc_.restart();
      ioc_.run();
    }
    return result.value_or(asio::error::timed_out);
  }

  asio::io_context ioc_;
  tcp::socket socket_{ioc_};
  beast::flat_buffer buffer_;
};

server_options test_options() {
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.request_deadline = 2000ms;
  return o;
}

/// Runs an http_server on its own thread for the duration of a test.
class running_server {
 public:
  running_server(server_options options, request_handler handler)
      : server_(std::move(options), std::move(handler), render_error) {
    server_.listen();
    runner_ = std::thread([this] {
      server_.run();
      std::lock_guard lock(mutex_);
      stopped_ = true;
      cv_.notify_all();
    });
  }
  ~running_server() {
    server_.stop();
    runner_.join();
  }

  std::uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }

  /// True once run() has returned.
  bool wait_stopped(std::chrono::milliseconds timeout = io_deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return stopped_; });
  }

 private:
  http_server server_;
  std::thread runner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

/// Holds responders that a handler did not call, so the test decides when (and whether) to.
class parked_responders {
 public:
  void add(http_request&& request, responder respond) {
    std::lock_guard lock(mutex_);
    targets_.push_back(request.target);
    responders_.push_back(std::move(respond));
    cv_.notify_all();
  }

  bool wait_count(std::size_t count, std::chrono::milliseconds timeout = io_deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return responders_.size() >= count; });
  }

  responder at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return responders_.at(i);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> targets_;
  std::vector<responder> responders_;
};

/// Threads started by handlers; joined when the test ends.
class worker_threads {
 public:
  ~worker_threads() {
    for (auto& t : threads_) t.join();
  }
  template <class F>
  void start(F&& f) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back(std::forward<F>(f));
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

std::string header_of(const http::response<http::string_body>& res, std::string_view name) {
  return std::string(res[name]);
}

TEST(http_request_test, header_lookup_is_case_insensitive_and_first_wins) {
  http_request req;
  req.headers = {{"Content-Type", "application/json"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("X-A"), "1");
  EXPECT_EQ(req.header("missing"), "");
}

TEST(http_server_test, keep_alive_serves_two_requests_on_one_connection) {
  running_server server(test_options(), echo_handler());
  ASSERT_NE(server.port(), 0);
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));

  ASSERT_FALSE(client.send(post("/v1/things?x=1", "{\"a\":1}", "X-Test: hello\r\n")));
  auto first = client.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->result_int(), 200u);
  EXPECT_EQ(first->body(), "POST /v1/things?x=1 {\"a\":1}");
  EXPECT_EQ(header_of(*first, "Content-Type"), "text/plain");
  EXPECT_EQ(header_of(*first, "X-Remote-Ip"), "127.0.0.1");
  EXPECT_EQ(header_of(*first, "X-Test-Seen"), "hello");
  EXPECT_TRUE(first->keep_alive());
  const std::string first_id = header_of(*first, "Request-Id");
  EXPECT_EQ(first_id.rfind("req_", 0), 0u);
  EXPECT_EQ(first_id.size(), 4u + 22u);

  ASSERT_FALSE(client.send(get("/second")));
  auto second = client.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->result_int(), 200u);
  EXPECT_EQ(second->body(), "GET /second ");
  EXPECT_NE(header_of(*second, "Request-Id"), first_id);
}

TEST(http_server_test, connection_close_request_is_answered_then_closed) {
  running_server server(test_options(), echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/once", "Connection: close\r\n")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200u);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(client.wait_closed());
}

TEST(http_server_test, pipelined_requests_are_answered_in_order) {
  running_server server(test_options(), echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/one") + post("/two", "2") + get("/three")));
  for (const std::string expected : {"GET /one ", "POST /two 2", "GET /three "}) {
    auto res = client.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body(), expected);
  }
}

TEST(http_server_test, request_arriving_in_pieces_is_assembled) {
  running_server server(test_options(), echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  const std::string request = post("/split", "0123456789");
  // Whether or not the kernel coalesces the pieces, the answer must be the same.
  for (std::size_t at = 0; at < request.size(); at += 7) {
    ASSERT_FALSE(client.send(request.substr(at, 7)));
  }
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "POST /split 0123456789");
}

TEST(http_server_test, a_request_that_stalls_is_closed_after_the_read_timeout) {
  auto options = test_options();
  options.read_timeout = 200ms;
  running_server server(options, echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send("GET /stall HTTP/1.1\r\nHost: t\r\n"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.wait_closed());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST(http_server_test, an_idle_keep_alive_connection_is_closed_after_the_idle_timeout) {
  auto options = test_options();
  options.idle_timeout = 200ms;
  running_server server(options, echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/once")));
  ASSERT_TRUE(client.read_response());
  EXPECT_TRUE(client.wait_closed());
}

TEST(http_server_test, chunked_body_is_decoded) {
  running_server server(test_options(), echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(
      client.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "POST /c abcde");
}

TEST(http_server_test, body_over_limit_gets_413_from_the_renderer_and_close) {
  auto options = test_options();
  options.body_limit = 1024;
  bool handler_called = false;
  running_server server(options, [&](http_request&&, responder respond) {
    handler_called = true;
    respond(text("unexpected"));
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(post("/big", std::string(4096, 'x'))));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
  EXPECT_NE(res->body().find("\"code\":\"PAYLOAD_TOO_LARGE\""), std::string::npos);
  EXPECT_EQ(header_of(*res, "Content-Type"), "application/json");
  EXPECT_FALSE(res->keep_alive());
  // The renderer got the same request id that the header carries.
  EXPECT_NE(res->body().find(header_of(*res, "Request-Id")), std::string::npos);
  EXPECT_TRUE(client.wait_closed());
  EXPECT_FALSE(handler_called);
}

TEST(http_server_test, chunked_body_over_limit_gets_413) {
  auto options = test_options();
  options.body_limit = 8;
  running_server server(options, echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(
      client.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "10\r\n0123456789abcdef\r\n0\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
}

TEST(http_server_test, header_over_limit_gets_431_and_close) {
  auto options = test_options();
  options.header_limit = 1024;
  running_server server(options, echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/h", "X-Big: " + std::string(4000, 'y') + "\r\n")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 431u);
  EXPECT_NE(res->body().find("\"code\":\"HEADERS_TOO_LARGE\""), std::string::npos);
  EXPECT_TRUE(client.wait_closed());
}

TEST(http_server_test, malformed_requests_get_400_and_close) {
  running_server server(test_options(), echo_handler());
  const std::vector<std::string> inputs = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: t\r\n\r\n",
      "G(T / HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const auto& input : inputs) {
    SCOPED_TRACE(input);
    raw_client client;
    ASSERT_FALSE(client.connect(server.port()));
    ASSERT_FALSE(client.send(input));
    auto res = client.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 400u);
    EXPECT_NE(res->body().find("\"code\":\"BAD_REQUEST\""), std::string::npos);
    EXPECT_TRUE(client.wait_closed());
  }
}

TEST(http_server_test, expect_continue_gets_an_interim_answer) {
  running_server server(test_options(), echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(
      "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100u);
  ASSERT_FALSE(client.send("hello"));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "POST /e hello");
}

TEST(http_server_test, handler_may_respond_from_another_thread) {
  worker_threads workers;
  running_server server(test_options(), [&](http_request&& req, responder respond) {
    workers.start(
        [target = req.target, respond = std::move(respond)] { respond(text("async " + target)); });
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  for (int i = 0; i < 20; ++i) {
    ASSERT_FALSE(client.send(get("/a" + std::to_string(i))));
    auto res = client.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body(), "async /a" + std::to_string(i));
  }
}

TEST(http_server_test, handler_never_responding_gets_the_deadline_answer) {
  auto options = test_options();
  options.request_deadline = 200ms;
  parked_responders parked;
  running_server server(options, [&](http_request&& req, responder respond) {
    if (req.target == "/never") {
      parked.add(std::move(req), std::move(respond));
    } else {
      respond(text("fine"));
    }
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/never")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503u);
  EXPECT_NE(res->body().find("\"code\":\"DEADLINE_EXCEEDED\""), std::string::npos);

  // A late answer is ignored: the connection carries on with the next request's answer only.
  ASSERT_TRUE(parked.wait_count(1));
  parked.at(0)(text("too late"));
  ASSERT_FALSE(client.send(get("/next")));
  auto next = client.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->result_int(), 200u);
  EXPECT_EQ(next->body(), "fine");
}

TEST(http_server_test, responder_called_twice_is_harmless) {
  worker_threads workers;
  running_server server(test_options(), [&](http_request&& req, responder respond) {
    if (req.target == "/sync") {
      respond(text("first"));
      respond(text("second"));
      return;
    }
    workers.start([respond = std::move(respond)] {
      respond(text("async first"));
      respond(text("async second"));
    });
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  for (const auto& [target, expected] : std::vector<std::pair<std::string, std::string>>{
           {"/sync", "first"}, {"/async", "async first"}, {"/sync", "first"}}) {
    ASSERT_FALSE(client.send(get(target)));
    auto res = client.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body(), expected);
  }
}

TEST(http_server_test, handler_that_throws_gets_500) {
  running_server server(test_options(), [](http_request&& req, responder respond) {
    if (req.target == "/throw") throw std::runtime_error("boom");
    respond(text("ok"));
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/throw")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 500u);
  EXPECT_NE(res->body().find("\"code\":\"INTERNAL\""), std::string::npos);
  ASSERT_FALSE(client.send(get("/fine")));
  auto next = client.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "ok");
}

TEST(http_server_test, response_headers_that_could_split_the_response_are_dropped) {
  running_server server(test_options(), [](http_request&&, responder respond) {
    http_response r = text("body");
    r.headers.emplace_back("X-Good", "yes");
    r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: stolen=1");
    respond(std::move(r));
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(header_of(*res, "X-Good"), "yes");
  EXPECT_EQ(header_of(*res, "X-Evil"), "");
  EXPECT_EQ(header_of(*res, "Set-Cookie"), "");
}

TEST(http_server_test, stop_lets_the_request_in_flight_finish_then_run_returns) {
  parked_responders parked;
  running_server server(test_options(), [&](http_request&& req, responder respond) {
    parked.add(std::move(req), std::move(respond));
  });

  raw_client idle;
  ASSERT_FALSE(idle.connect(server.port()));
  raw_client busy;
  ASSERT_FALSE(busy.connect(server.port()));
  ASSERT_FALSE(busy.send(get("/slow")));
  ASSERT_TRUE(parked.wait_count(1));

  server.stop();
  // An idle connection is closed at once; the busy one is waited for.
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_FALSE(server.wait_stopped(50ms));

  std::thread late([&] { parked.at(0)(text("finished")); });
  auto res = busy.read_response();
  late.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200u);
  EXPECT_EQ(res->body(), "finished");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(busy.wait_closed());

  EXPECT_TRUE(server.wait_stopped());
  raw_client refused;
  EXPECT_EQ(refused.connect(server.port()), asio::error::connection_refused);
}

TEST(http_server_test, stop_does_not_hang_on_a_handler_that_never_answers) {
  auto options = test_options();
  options.request_deadline = 300ms;
  parked_responders parked;
  running_server server(options, [&](http_request&& req, responder respond) {
    parked.add(std::move(req), std::move(respond));
  });
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/never")));
  ASSERT_TRUE(parked.wait_count(1));
  server.stop();
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503u);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(server.wait_stopped());
}

TEST(http_server_test, sigterm_stops_the_server) {
  running_server server(test_options(), echo_handler());
  raw_client client;
  ASSERT_FALSE(client.connect(server.port()));
  ASSERT_FALSE(client.send(get("/")));
  // A served request proves run() has installed its signal handling.
  ASSERT_TRUE(client.read_response());
  ASSERT_EQ(std::raise(SIGTERM), 0);
  EXPECT_TRUE(client.wait_closed());
  EXPECT_TRUE(server.wait_stopped());
}

TEST(http_server_test, connections_beyond_the_maximum_are_closed) {
  auto options = test_options();
  options.max_connections = 1;
  running_server server(options, echo_handler());
  raw_client first;
  ASSERT_FALSE(first.connect(server.port()));
  ASSERT_FALSE(first.send(get("/first")));
  ASSERT_TRUE(first.read_response());

  raw_client second;
  ASSERT_FALSE(second.connect(server.port()));
  EXPECT_TRUE(second.wait_closed());

  ASSERT_FALSE(first.send(get("/again")));
  auto again = first.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body(), "GET /again ");
}

TEST(http_server_test, listening_on_a_busy_port_throws_a_config_error) {
  running_server server(test_options(), echo_handler());
  auto options = test_options();
  options.port = server.port();
  http_server other(options, echo_handler(), render_error);
  try {
    other.listen();
    FAIL() << "listen() on a busy port succeeded";
  } catch (const keyledger::infra::error& e) {
    EXPECT_EQ(e.code(), keyledger::infra::errc::config);
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:"), std::string::npos);
  }
}

TEST(http_server_test, listen_resolves_localhost_and_logs_the_listening_line) {
  auto options = test_options();
  options.host = "localhost";
  http_server server(options, echo_handler(), render_error);

  // Capture stderr around listen(): the e2e tests wait for exactly this line.
  keyledger::infra::flush_log();
  std::fflush(stderr);
  char path[] = "/tmp/http_server_test_XXXXXX";
  const int capture = mkstemp(path);
  ASSERT_GE(capture, 0);
  const int saved = dup(STDERR_FILENO);
  dup2(capture, STDERR_FILENO);
  server.listen();
  keyledger::infra::flush_log();  // the logger writes info lines from its own thread
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(capture);
  std::ifstream in(path);
  std::stringstream captured;
  captured << in.rdbuf();
  std::remove(path);

  ASSERT_NE(server.port(), 0);
  const std::string text = captured.str();
  EXPECT_NE(text.find("\"event\":\"listening\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"host\":\"localhost\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"port\":\"" + std::to_string(server.port()) + "\""), std::string::npos)
      << text;
}

}  // namespace

#include "infra/http/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "infra/http/server.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using keyledger::infra::client_request;
using keyledger::infra::http_client;
using keyledger::infra::http_client_options;
using keyledger::infra::http_endpoint;
using keyledger::infra::http_request;
using keyledger::infra::http_response;
using keyledger::infra::http_server;
using keyledger::infra::parse_http_url;
using keyledger::infra::request_handler;
using keyledger::infra::responder;
using keyledger::infra::server_options;

/// No single operation in these tests legitimately takes longer than this.
constexpr auto io_deadline = 5s;

/// What a test's Authorization header carries; no error message may contain it.
const std::string secret_key = "kl_live_S3cretS3cretS3cretS3cretS3cretAb";

http_response render_error(unsigned status, std::string_view code, std::string_view) {
  http_response r;
  r.status = status;
  r.body = "{\"code\":\"" + std::string(code) + "\"}";
  return r;
}

/// Runs a real infra::http_server on its own thread for the duration of a test.
class running_server {
 public:
  explicit running_server(request_handler handler, server_options options = test_options())
      : server_(std::move(options), std::move(handler), render_error) {
    server_.listen();
    runner_ = std::thread([this] { server_.run(); });
  }
  ~running_server() {
    server_.stop();
    runner_.join();
  }

  std::uint16_t port() const { return server_.port(); }

  static server_options test_options() {
    server_options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 1;
    o.request_deadline = 2000ms;
    return o;
  }

 private:
  http_server server_;
  std::thread runner_;
};

http_endpoint local(std::uint16_t port, std::string base_path = "") {
  http_endpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  e.base_path = std::move(base_path);
  e.host_header = "127.0.0.1:" + std::to_string(port);
  return e;
}

/// Answers with what it parsed: "METHOD target|host|user-agent|x-test|content-type|body".
request_handler echo_handler(std::atomic<int>* calls = nullptr) {
  return [calls](http_request&& req, responder respond) {
    if (calls) ++*calls;
    http_response r;
    r.status = 201;
    r.content_type = "text/plain";
    r.headers.emplace_back("X-Echo", "yes");
    r.body = req.method + " " + req.target + "|" + std::string(req.header("host")) + "|" +
             std::string(req.header("user-agent")) + "|" + std::string(req.header("x-test")) + "|" +
             std::string(req.header("content-type")) + "|" + req.body;
    respond(std::move(r));
  };
}

/// A port that nothing listens on (it was bound a moment ago, then released).
std::uint16_t closed_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

/// A raw TCP server following a script, for what a well-behaved server never does (close a
/// kept-alive connection, answer garbage). Connection i reads one request per entry of
/// scripts[i], answers it with that entry's bytes verbatim, then closes. It records which
/// connection saw which request.
class scripted_server {
 public:
  explicit scripted_server(std::vector<std::vector<std::string>> scripts)
      : scripts_(std::move(scripts)) {
    asio::co_spawn(ioc_, serve(), asio::detached);
    runner_ = std::thread([this] { ioc_.run_for(io_deadline * 2); });
  }
  ~scripted_server() {
    ioc_.stop();
    runner_.join();
  }

  std::uint16_t port() const { return port_; }

  /// "connection-index METHOD target" per request received, in order.
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  asio::awaitable<void> serve() {
    for (std::size_t i = 0; i < scripts_.size(); ++i) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      beast::flat_buffer buffer;
      for (const auto& answer : scripts_[i]) {
        http::request<http::string_body> req;
        auto [read_ec, n] =
            co_await http::async_read(socket, buffer, req, asio::as_tuple(asio::use_awaitable));
        if (read_ec) break;
        {
          std::lock_guard lock(mutex_);
          seen_.push_back(std::to_string(i) + " " + std::string(req.method_string()) + " " +
                          std::string(req.target()));
        }
        auto [write_ec, m] = co_await asio::async_write(socket, asio::buffer(answer),
                                                        asio::as_tuple(asio::use_awaitable));
        if (write_ec) break;
      }
      beast::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::vector<std::vector<std::string>> scripts_;
  std::thread runner_;
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

const std::string ok_answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

client_request get(std::string target) {
  client_request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

// ---- parse_http_url -------------------------------------------------------------------------

TEST(parse_http_url_test, accepts_host_port_and_base_path) {
  auto e = parse_http_url("http://127.0.0.1:8080");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->base_path, "");
  EXPECT_EQ(e->host_header, "127.0.0.1:8080");
  EXPECT_FALSE(e->tls);

  e = parse_http_url("HTTP://keyledger.internal/api/");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->host, "keyledger.internal");
  EXPECT_EQ(e->port, 80);
  EXPECT_EQ(e->base_path, "/api");
  EXPECT_EQ(e->host_header, "keyledger.internal");

  e = parse_http_url("http://[::1]:9000/");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 9000);
  EXPECT_EQ(e->base_path, "");
  EXPECT_EQ(e->host_header, "[::1]:9000");
}

TEST(parse_http_url_test, refuses_what_it_cannot_use_without_repeating_the_url) {
  const char* bad[] = {
      "",
      "127.0.0.1:8080",
      "ftp://host/",
      "https//host/",
      "httpx://host/",
      "http://",
      "http://:8080",
      "http://user:hunter2@host:8080",
      "http://host:0",
      "http://host:65536",
      "http://host:80x",
      "http://host:",
      "http://host/path?x=1",
      "http://host/#frag",
      "http://::1:8080",
      "http://[::1",
      "http://[zz::1]",
      "http://[::1]x",
      "http://ho st/",
      "http://host/a b",
      "http://host/a\r\nX-Injected: 1",
  };
  for (const auto* url : bad) {
    auto e = parse_http_url(url);
    EXPECT_FALSE(e.ok()) << "accepted: " << url;
    if (!e.ok()) {
      EXPECT_EQ(e.error().find("hunter2"), std::string::npos) << e.error();
      EXPECT_FALSE(e.error().empty()) << url;
    }
  }
}

// ---- against the real server ----------------------------------------------------------------

TEST(http_client_test, sends_method_target_headers_and_body_and_reads_the_answer) {
  running_server server(echo_handler());
  http_client client(local(server.port()));
  client_request req;
  req.method = "POST";
  req.target = "/v1/keys?limit=5";
  req.headers = {{"Content-Type", "application/json"}, {"X-Test", "seen"}};
  req.body = R"({"name":"ci"})";

  auto r = client.send(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->header("x-ECHO"), "yes");
  EXPECT_EQ(r->header("absent"), "");
  EXPECT_EQ(r->body, "POST /v1/keys?limit=5|127.0.0.1:" + std::to_string(server.port()) +
                         "|keyledger-cli|seen|application/json|{\"name\":\"ci\"}");
}

TEST(http_client_test, prepends_the_base_path_and_sends_several_requests) {
  running_server server(echo_handler());
  http_client client(local(server.port(), "/prefix"));
  for (int i = 0; i < 3; ++i) {
    auto r = client.send(get("/v1/keys/" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body.substr(0, r->body.find('|')), "GET /prefix/v1/keys/" + std::to_string(i));
  }
}

TEST(http_client_test, an_error_status_is_a_response_not_a_failure) {
  running_server server([](http_request&&, responder respond) {
    http_response r;
    r.status = 404;
    r.body = R"({"code":"NOT_FOUND"})";
    respond(std::move(r));
  });
  http_client client(local(server.port()));
  auto r = client.send(get("/v1/keys/key_x"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404u);
  EXPECT_EQ(r->body, R"({"code":"NOT_FOUND"})");
  EXPECT_EQ(r->header("content-type"), "application/json");
}

TEST(http_client_test, a_body_over_the_limit_is_refused) {
  running_server server([](http_request&&, responder respond) {
    http_response r;
    r.body = std::string(100 * 1024, 'x');
    respond(std::move(r));
  });
  http_client_options options;
  options.body_limit = 64 * 1024;
  http_client client(local(server.port()), options);
  auto r = client.send(get("/big"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("65536-byte limit"), std::string::npos) << r.error().message;

  // The same size within a larger limit is fine (the connection was dropped and is remade).
  http_client_options roomy;
  roomy.body_limit = 128 * 1024;
  http_client client2(local(server.port()), roomy);
  auto r2 = client2.send(get("/big"));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->body.size(), 100u * 1024);
}

TEST(http_client_test, a_server_that_does_not_answer_in_time_is_a_timeout) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<responder> parked;
  running_server server([&](http_request&&, responder respond) {
    std::lock_guard lock(mutex);
    parked.push_back(std::move(respond));
    cv.notify_all();
  });
  http_client_options options;
  options.request_timeout = 200ms;
  http_client client(local(server.port()), options);
  client_request req = get("/slow");
  req.headers = {{"Authorization", "Bearer " + secret_key}};

  const auto start = std::chrono::steady_clock::now();
  auto r = client.send(req);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("within 200 ms"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(secret_key), std::string::npos);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 1500ms);  // well before the server's own 2 s deadline answer
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, io_deadline, [&] { return !parked.empty(); }));
  }
  // Answered late, to a client that is gone: harmless.
  parked.front()(http_response{});
}

TEST(http_client_test, nothing_listening_is_a_connect_error) {
  http_client client(local(closed_port()));
  client_request req = get("/healthz");
  req.headers = {{"Authorization", secret_key}};
  auto r = client.send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot connect to 127.0.0.1:"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find(secret_key), std::string::npos);
}

TEST(http_client_test, an_unresolvable_host_is_a_resolve_error) {
  http_endpoint e;
  e.host = "keyledger-test.invalid";  // RFC 6761: never resolves
  e.port = 80;
  e.host_header = e.host;
  http_client client(e);
  auto r = client.send(get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot resolve keyledger-test.invalid"), std::string::npos)
      << r.error().message;
}

TEST(http_client_test, header_values_with_line_breaks_are_not_sent) {
  std::atomic<int> calls{0};
  running_server server(echo_handler(&calls));
  http_client client(local(server.port()));
  for (const std::string& bad :
       {secret_key + "\r\nX-Injected: 1", secret_key + "\n", secret_key + std::string(1, '\0')}) {
    client_request req = get("/v1/keys");
    req.headers = {{"Authorization", bad}};
    auto r = client.send(req);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("Authorization header"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(r.error().message.find("S3cret"), std::string::npos) << r.error().message;
  }
  client_request bad_name = get("/v1/keys");
  bad_name.headers = {{"X Bad", "1"}};
  EXPECT_FALSE(client.send(bad_name).ok());
  EXPECT_FALSE(client.send(get("/a b")).ok());
  EXPECT_FALSE(client.send(get("no-slash")).ok());
  client_request bad_method = get("/");
  bad_method.method = "GE T";
  EXPECT_FALSE(client.send(bad_method).ok());

  // None of them reached the server; a clean request still works.
  auto ok = client.send(get("/v1/keys"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(calls.load(), 1);
}

// ---- against a scripted server --------------------------------------------------------------

TEST(http_client_test, keeps_the_connection_alive_between_requests) {
  scripted_server server({{ok_answer, ok_answer}});
  http_client client(local(server.port()));
  for (int i = 0; i < 2; ++i) {
    auto r = client.send(get("/r" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /r0", "0 GET /r1"}));
}

TEST(http_client_test, connection_close_from_the_server_means_a_new_connection) {
  scripted_server server(
      {{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"}, {ok_answer}});
  http_client client(local(server.port()));
  ASSERT_TRUE(client.send(get("/a")).ok());
  auto r = client.send(get("/b"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /a", "1 GET /b"}));
}

TEST(http_client_test, an_idempotent_request_on_a_connection_the_server_dropped_goes_again) {
  // The first connection answers once and closes although the answer said keep-alive: the
  // second GET finds it dead and is sent again on a new connection.
  scripted_server server({{ok_answer}, {ok_answer}});
  http_client client(local(server.port()));
  ASSERT_TRUE(client.send(get("/a")).ok());
  auto r = client.send(get("/b"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /a", "1 GET /b"}));
}

TEST(http_client_test, a_post_on_a_connection_the_server_dropped_is_not_sent_twice) {
  scripted_server server({{ok_answer}, {ok_answer}});
  http_client client(local(server.port()));
  ASSERT_TRUE(client.send(get("/a")).ok());
  client_request post;
  post.method = "POST";
  post.target = "/v1/keys";
  post.headers = {{"Content-Type", "application/json"}};
  post.body = "{}";
  auto r = client.send(post);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("closed the connection"), std::string::npos)
      << r.error().message;
  // The next request opens the second connection, which has seen no POST.
  ASSERT_TRUE(client.send(get("/c")).ok());
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /a", "1 GET /c"}));
}

TEST(http_client_test, a_response_cut_short_is_an_error_and_not_retried) {
  scripted_server server({{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, {ok_answer}});
  http_client client(local(server.port()));
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("without a complete answer"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /a"}));
}

TEST(http_client_test, a_malformed_response_is_an_error) {
  scripted_server server({{"NOT HTTP AT ALL\r\n\r\n"}});
  http_client client(local(server.port()));
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed HTTP response"), std::string::npos)
      << r.error().message;
}

TEST(http_client_test, headers_over_the_limit_are_refused) {
  scripted_server server({{"HTTP/1.1 200 OK\r\nX-Big: " + std::string(20 * 1024, 'h') +
                           "\r\nContent-Length: 2\r\n\r\nok"}});
  http_client client(local(server.port()));
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("16384-byte limit"), std::string::npos) << r.error().message;
}

}  // namespace

namespace {

TEST(http_client_test, only_allowed_addresses_are_connected_to) {
  std::atomic<int> calls{0};
  running_server server(echo_handler(&calls));
  std::vector<std::string> asked;
  http_client_options refusing;
  refusing.address_allowed = [&asked](std::string_view address) {
    asked.emplace_back(address);
    return false;
  };
  http_client refused(local(server.port()), refusing);
  auto r = refused.send(get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().refused);
  EXPECT_FALSE(r.error().timed_out);
  EXPECT_EQ(asked, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(calls.load(), 0) << "nothing was sent";

  http_client_options allowing;
  allowing.address_allowed = [](std::string_view address) { return address == "127.0.0.1"; };
  http_client allowed(local(server.port()), allowing);
  auto ok = allowed.send(get("/"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(calls.load(), 1);
}

TEST(http_client_test, a_long_body_can_be_cut_instead_of_refused) {
  running_server server([](http_request&&, responder respond) {
    http_response r;
    r.status = 202;
    r.body = std::string(100 * 1024, 'x');
    respond(std::move(r));
  });
  http_client_options options;
  options.body_limit = 1024;
  options.truncate_body = true;
  http_client client(local(server.port()), options);
  auto r = client.send(get("/"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 202u);
  EXPECT_LE(r->body.size(), 1024u);
  // The connection was closed; the next request opens a new one and works.
  auto again = client.send(get("/"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 202u);
}

}  // namespace

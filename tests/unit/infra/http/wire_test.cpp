// infra/http/detail/wire: the answer's head as the server writes it (write_response_head),
// read back by Beast's own response parser, and requests parsed with their fields in a
// per-connection arena (parser_in).
#include "infra/http/detail/wire.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <memory_resource>
#include <string>

namespace keyledger::infra::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

http_response answer(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

/// Parses head + body (when allowed) as a client would.
http::response<http::string_body> read_back(const std::string& head, const http_response& a,
                                            bool body_allowed) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  const std::string wire = head + (body_allowed ? a.body : std::string());
  beast::error_code ec;
  const auto used = parser.put(boost::asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, wire.size());
  if (!parser.is_done()) parser.put_eof(ec);
  EXPECT_TRUE(parser.is_done());
  return parser.release();
}

TEST(write_response_head, writes_a_complete_http11_answer_with_the_fields_in_order) {
  auto a = answer(201, R"({"ok":true})");
  a.headers = {{"Keyledger-Version", "2026-01-01"}, {"Cache-Control", "no-store"}};
  std::string head;
  bool body_allowed = false;
  write_response_head(head, 11, a, "req_abc", true, body_allowed);
  EXPECT_TRUE(body_allowed);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Created\r\n"
            "Content-Type: application/json\r\n"
            "Keyledger-Version: 2026-01-01\r\n"
            "Cache-Control: no-store\r\n"
            "Request-Id: req_abc\r\n"
            "Content-Length: 11\r\n"
            "\r\n");
  const auto r = read_back(head, a, body_allowed);
  EXPECT_EQ(r.result_int(), 201u);
  EXPECT_EQ(r.body(), a.body);
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(r["Request-Id"], "req_abc");
}

TEST(write_response_head, says_close_or_keep_alive_as_the_version_needs) {
  const auto a = answer(200, "{}");
  std::string head;
  bool body_allowed = false;
  write_response_head(head, 11, a, "req_1", false, body_allowed);
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_FALSE(read_back(head, a, body_allowed).keep_alive());

  write_response_head(head, 10, a, "req_1", true, body_allowed);
  EXPECT_EQ(head.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  EXPECT_NE(head.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_TRUE(read_back(head, a, body_allowed).keep_alive());

  write_response_head(head, 10, a, "req_1", false, body_allowed);
  EXPECT_EQ(head.find("Connection:"), std::string::npos);
  EXPECT_FALSE(read_back(head, a, body_allowed).keep_alive());
}

TEST(write_response_head, sends_no_length_and_no_body_for_204_304_and_1xx) {
  for (const unsigned status : {204u, 304u, 101u}) {
    auto a = answer(status, "ignored");
    a.content_type.clear();
    std::string head;
    bool body_allowed = true;
    write_response_head(head, 11, a, "req_1", true, body_allowed);
    EXPECT_FALSE(body_allowed) << status;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << status;
    EXPECT_EQ(head.find("Content-Type"), std::string::npos) << status;
  }
  const auto empty = answer(200, "");
  std::string head;
  bool body_allowed = false;
  write_response_head(head, 11, empty, "req_1", true, body_allowed);
  EXPECT_NE(head.find("Content-Length: 0\r\n"), std::string::npos);
}

TEST(write_response_head, leaves_out_unsafe_and_framing_fields) {
  auto a = answer(200, "{}");
  a.headers = {{"X-Split", "a\r\nSet-Cookie: evil=1"},
               {"Content-Length", "999"},
               {"transfer-encoding", "chunked"},
               {"Connection", "upgrade"},
               {"X-Fine", "yes"}};
  a.content_type = "text/plain\r\nX-Injected: 1";
  std::string head;
  bool body_allowed = false;
  write_response_head(head, 11, a, "req_1", true, body_allowed);
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(head.find("X-Injected"), std::string::npos);
  EXPECT_EQ(head.find("Content-Type"), std::string::npos);
  EXPECT_EQ(head.find("999"), std::string::npos);
  EXPECT_EQ(head.find("chunked"), std::string::npos);
  EXPECT_EQ(head.find("upgrade"), std::string::npos);
  EXPECT_NE(head.find("X-Fine: yes\r\n"), std::string::npos);
  const auto r = read_back(head, a, body_allowed);
  EXPECT_EQ(r.body(), "{}");
}

TEST(write_response_head, reuses_the_string_and_replaces_what_it_held) {
  std::string head(4096, 'x');
  const auto* storage = head.data();
  bool body_allowed = false;
  write_response_head(head, 11, answer(500, "{}"), "req_2", true, body_allowed);
  EXPECT_EQ(head.data(), storage);  // no new allocation: the capacity was enough
  EXPECT_EQ(head.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  EXPECT_EQ(head.find('x'), std::string::npos);
}

TEST(parser_in, parses_every_field_into_the_arena_and_again_after_a_reset) {
  std::array<std::byte, 512> buffer{};
  std::pmr::monotonic_buffer_resource arena(buffer.data(), buffer.size(),
                                            std::pmr::null_memory_resource());
  for (int round = 0; round < 3; ++round) {
    arena.release();
    auto parser = parser_in(arena);
    limit_parser(parser, server_options{});
    const std::string wire =
        "POST /v1/keys/verify?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        "X-Keyledger-Required-Scopes: leads:read leads:write\r\nContent-Length: 2\r\n\r\n{}";
    beast::flat_buffer bytes;
    bytes.commit(boost::asio::buffer_copy(bytes.prepare(wire.size()), boost::asio::buffer(wire)));
    const auto ec = parse_buffered(parser, bytes);  // a null upstream: the fields fit 512 bytes
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(parser.is_done());
    const auto request = to_http_request(parser.release());
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/v1/keys/verify?x=1");
    ASSERT_EQ(request.headers.size(), 4u);
    EXPECT_EQ(request.headers[2].first, "X-Keyledger-Required-Scopes");
    EXPECT_EQ(request.headers[2].second, "leads:read leads:write");
    EXPECT_EQ(request.body, "{}");
  }
}

TEST(wire_test, given_a_request_object_reused_then_each_fill_holds_exactly_the_new_request) {
  // The server reads every request of a connection into one object (and the router swaps in a
  // finished request's): a fill must leave nothing of the one before.
  const std::string wires[] = {
      "POST /v1/keys/verify HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer kl_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nX-One: 1\r\n"
      "Content-Length: 24\r\n\r\n{\"key\":\"kl_live_xxxxxxx\"}",
      "GET /v1/check HTTP/1.1\r\nHost: other\r\n\r\n",
      "PATCH /v1/keys/key_1 HTTP/1.1\r\nhost: third\r\nA: a\r\nB: b\r\nC: c\r\nD: d\r\n"
      "E: e\r\nF: f\r\nContent-Length: 2\r\n\r\n{}",
  };
  http_request reused;
  for (int round = 0; round < 2; ++round) {
    for (const auto& wire : wires) {
      request_parser parser;
      limit_parser(parser, server_options{});
      reused.clear_keeping_storage();
      parser.get().body() = std::move(reused.body);
      beast::flat_buffer bytes;
      bytes.commit(boost::asio::buffer_copy(bytes.prepare(wire.size()), boost::asio::buffer(wire)));
      const auto ec = parse_buffered(parser, bytes);
      ASSERT_FALSE(ec) << ec.message();
      ASSERT_TRUE(parser.is_done());
      auto message = parser.release();
      fill_http_request(message, reused);

      // The same as a request made afresh from the same bytes.
      request_parser fresh_parser;
      limit_parser(fresh_parser, server_options{});
      beast::flat_buffer again;
      again.commit(boost::asio::buffer_copy(again.prepare(wire.size()), boost::asio::buffer(wire)));
      ASSERT_FALSE(parse_buffered(fresh_parser, again));
      const auto fresh = to_http_request(fresh_parser.release());
      EXPECT_EQ(reused.method, fresh.method);
      EXPECT_EQ(reused.target, fresh.target);
      EXPECT_EQ(reused.headers, fresh.headers);
      EXPECT_EQ(reused.body, fresh.body);
    }
  }
  EXPECT_EQ(reused.method, "PATCH");
  EXPECT_EQ(reused.headers.size(), 8u);
  EXPECT_EQ(reused.header("host"), "third");
}

}  // namespace
}  // namespace keyledger::infra::detail

// One connection of the HTTP server: reads requests, hands them to the handler, writes the
// answers. The server's other half (listening, accepting, shutdown) is server.cpp; what both
// share is detail/server_impl.hpp.
#include <algorithm>
#include <array>
#include <memory_resource>
#include <optional>

#include "domain/encoding.hpp"
#include "domain/types.hpp"
#include "infra/core/buffer_pool.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/http/detail/server_impl.hpp"
#include "infra/http/detail/wire.hpp"

namespace keyledger::infra {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace detail::server;  // NOLINT: this file's own insides

namespace detail::server {

void deliver(const std::shared_ptr<response_bridge>& bridge, std::uint64_t generation,
             http_response&& response) {
  std::lock_guard lock(bridge->mutex);
  // Stale, duplicate or too late (the deadline answer went out): ignored.
  if (bridge->generation != generation || !bridge->accepting || bridge->response) return;
  bridge->response = std::move(response);
  // Answered inside the handler call (or before the session suspends): it is picked up there.
  if (!bridge->waiting || !bridge->strand) return;
  std::lock_guard gate_lock(bridge->gate->mutex);
  if (!bridge->gate->open) return;
  // Wake the session: cancelling its deadline timer resumes it on its own strand.
  asio::post(*bridge->strand, [bridge, generation] {
    std::lock_guard inner(bridge->mutex);
    if (bridge->generation == generation && bridge->timer != nullptr) bridge->timer->cancel();
  });
}

}  // namespace detail::server

namespace {

using detail::limit_parser;
using detail::new_request_id;
using detail::parse_buffered;
using detail::rejection_for;
using detail::remote_ip_of;
using detail::request_parser;

}  // namespace

asio::awaitable<void> http_server::impl::session(std::shared_ptr<connection> conn) {
  auto& stream = conn->stream;
  const std::string remote_ip = remote_ip_of(stream.socket());
  // Bounded so that a client cannot grow it: a whole request fits, plus a little pipelining.
  beast::flat_buffer buffer(options.header_limit + options.body_limit + read_chunk);
  asio::steady_timer deadline(stream.get_executor());

  auto bridge = std::make_shared<response_bridge>();
  bridge->strand = stream.get_executor();
  bridge->gate = gate;
  bridge_release release{bridge};

  // The header fields of one request at a time: reset before each request is parsed (the
  // previous request's parser and message are gone by then).
  std::array<std::byte, fields_arena_bytes> fields_buffer;
  std::pmr::monotonic_buffer_resource fields_arena(fields_buffer.data(), fields_buffer.size());

  std::string request_id;
  // Read into again and again: its storage (and what the router swaps in for it, a finished
  // request's) serves the next request, so a request allocates nothing once warm.
  http_request request;
  bool first = true;
  for (;;) {
    if (stopping.load()) break;
    fields_arena.release();

    // Wait for the next request: a new connection must speak promptly, a kept-alive one may
    // idle for longer.
    if (buffer.size() == 0) {
      conn->reading = true;
      stream.expires_after(first ? options.read_timeout : options.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(
          buffer.prepare(std::min(read_chunk, buffer.max_size())), use_tuple);
      conn->reading = false;
      if (ec) break;  // eof, reset, timeout, or cancelled by shutdown: a quiet close
      buffer.commit(n);
    }
    first = false;

    // Read the whole request within read_timeout, under the header and body limits. Most
    // requests arrive whole in one segment: parse what is buffered first (no extra completion
    // round trip through the scheduler) and go back to the socket only for the rest.
    request_parser parser = detail::parser_in(fields_arena);
    limit_parser(parser, options);
    // The body is read into the last request's body storage (the reader appends: empty first).
    request.body.clear();
    parser.get().body() = std::move(request.body);
    beast::error_code read_ec = parse_buffered(parser, buffer);
    if (!read_ec && !parser.is_done()) {
      conn->reading = true;
      stream.expires_after(options.read_timeout);
      if (!parser.is_header_done()) {
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        read_ec = ec;
      }
      // curl and others wait for "100 Continue" before sending a body larger than 1 KiB.
      if (!read_ec && !parser.is_done() &&
          domain::iequals_ascii(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
        auto [ec, n] = co_await http::async_write(stream, go_on, use_tuple);
        read_ec = ec;
      }
      if (!read_ec && !parser.is_done()) {
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        read_ec = ec;
      }
    }
    conn->reading = false;
    if (read_ec) {
      if (auto reject = rejection_for(read_ec, parser.is_header_done()); reject && !stopping) {
        new_request_id(request_id);
        if (co_await write(*conn, render(reject->status, reject->code, request_id), 11, false,
                           request_id)) {
          co_await linger_close(*conn);
        }
      }
      break;
    }

    // Hand the request to the application.
    auto message = parser.release();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    detail::fill_http_request(message, request);
    request.remote_ip = remote_ip;
    new_request_id(request.request_id);
    request_id = request.request_id;  // the session's copy (capacity reused), for its own use

    std::uint64_t generation = 0;
    {
      std::lock_guard lock(bridge->mutex);
      generation = ++bridge->generation;
      bridge->accepting = true;
      bridge->response.reset();
    }
    deadline.expires_after(options.request_deadline);
    try {
      handler(std::move(request), [bridge, generation](http_response response) {
        deliver(bridge, generation, std::move(response));
      });
    } catch (const std::exception& e) {
      log(log_level::error, "handler_failed", {{"request_id", request_id}, {"what", e.what()}});
      deliver(bridge, generation, render(500, "INTERNAL", request_id));
    }

    // The fast path answered inside the call; otherwise wait for the answer or the deadline.
    std::optional<http_response> answer;
    {
      std::lock_guard lock(bridge->mutex);
      if (bridge->response) {
        answer = std::move(bridge->response);
        bridge->response.reset();
        bridge->accepting = false;
      } else {
        bridge->waiting = true;
        bridge->timer = &deadline;
      }
    }
    if (!answer) {
      co_await deadline.async_wait(use_tuple);
      std::lock_guard lock(bridge->mutex);
      bridge->waiting = false;
      bridge->timer = nullptr;
      bridge->accepting = false;  // from here on, a late answer is ignored
      if (bridge->response) {
        answer = std::move(bridge->response);
        bridge->response.reset();
      }
    }
    if (!answer) {
      log(log_level::warn, "request_deadline_exceeded", {{"request_id", request_id}});
      answer = render(503, "DEADLINE_EXCEEDED", request_id);
    }

    // Answer; while stopping, every answer closes its connection.
    const bool keep = keep_alive && !stopping.load();
    const auto buffers = prepare_answer(*conn, *answer, version, keep, request_id);
    stream.expires_after(options.write_timeout);
    auto [write_ec, written] = co_await asio::async_write(stream, buffers, use_tuple);
    // The body's capacity serves this thread's next answer (json_writer takes it).
    buffer_pool::give_back(std::move(answer->body));
    // A request the router answered without taking it (no route, a method not allowed...) is
    // still here, its Authorization header with it: wiped before the connection idles, as a
    // kept call's is. A taken one was swapped for a kept call's emptied request.
    if (!request.method.empty()) request.clear_keeping_storage();
    if (write_ec || !keep) break;
  }

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

std::array<asio::const_buffer, 2> http_server::impl::prepare_answer(connection& conn,
                                                                    http_response& answer,
                                                                    unsigned version,
                                                                    bool keep_alive,
                                                                    std::string_view request_id) {
  if (answer.status < 100 || answer.status > 999) {
    log(log_level::error, "invalid_status", {{"request_id", request_id}});
    answer = render(500, "INTERNAL", request_id);
  }
  // The head is written here (detail::write_response_head) rather than by Beast's serializer:
  // one reused string instead of a heap allocation per header field, and one gathered write.
  bool body_allowed = true;
  detail::write_response_head(conn.head, version == 10 ? 10 : 11, answer, request_id, keep_alive,
                              body_allowed);
  return {asio::buffer(conn.head), body_allowed ? asio::buffer(answer.body) : asio::const_buffer()};
}

asio::awaitable<bool> http_server::impl::write(connection& conn, http_response&& answer,
                                               unsigned version, bool keep_alive,
                                               std::string_view request_id) {
  const auto buffers = prepare_answer(conn, answer, version, keep_alive, request_id);
  conn.stream.expires_after(options.write_timeout);
  auto [ec, n] = co_await asio::async_write(conn.stream, buffers, use_tuple);
  // The body's capacity serves this thread's next answer (json_writer takes it).
  buffer_pool::give_back(std::move(answer.body));
  co_return !ec;
}

asio::awaitable<void> http_server::impl::linger_close(connection& conn) {
  // Closing with unread input makes the kernel send a reset, which can destroy the answer
  // before the client reads it: half-close, then discard what the client still sends.
  beast::error_code ignored;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  conn.reading = true;
  conn.stream.expires_after(linger_timeout);
  std::array<char, 4096> sink{};
  std::size_t drained = 0;
  while (drained < linger_drain_limit) {
    auto [ec, n] = co_await conn.stream.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
    drained += n;
  }
  conn.reading = false;
}

}  // namespace keyledger::infra

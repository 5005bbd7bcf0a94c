// The HTTP server's insides, shared by server.cpp (listening, accepting, shutdown) and
// session.cpp (one connection: reading requests, handing them on, writing answers). Private to
// infra/http: it includes Beast and Asio.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "infra/http/detail/wire.hpp"
#include "infra/http/server.hpp"

namespace keyledger::infra::detail::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Bytes asked of the socket per read; a typical request arrives in one.
inline constexpr std::size_t read_chunk = 16 * 1024;
/// After a rejected request, at most this much of what the client still sends is discarded.
inline constexpr std::size_t linger_drain_limit = 1024 * 1024;
inline constexpr std::chrono::milliseconds linger_timeout{1000};
inline constexpr std::chrono::milliseconds accept_retry_delay{50};

/// Posting to the io_context is allowed only while this is open; the server closes it before
/// the io_context is destroyed, so a responder called late (from a pool thread) is harmless.
struct post_gate {
  std::mutex mutex;
  bool open = true;
};

/// Carries the handler's answer from whatever thread produces it back to the session's strand.
/// One per connection, reused for each request (told apart by `generation`).
struct response_bridge {
  std::mutex mutex;
  std::uint64_t generation = 0;
  bool accepting = false;  ///< the current request still takes an answer
  bool waiting = false;    ///< the session is suspended on `timer`
  std::optional<http_response> response;
  asio::steady_timer* timer = nullptr;          ///< dereferenced on the session strand only
  std::optional<asio::any_io_executor> strand;  ///< reset when the session ends
  std::shared_ptr<post_gate> gate;
};

/// Hands `response` to the session waiting on `bridge` for request `generation` (any thread).
void deliver(const std::shared_ptr<response_bridge>& bridge, std::uint64_t generation,
             http_response&& response);

/// Detaches the bridge from the session when the coroutine frame goes away, however it ends.
struct bridge_release {
  std::shared_ptr<response_bridge> bridge;
  ~bridge_release() {
    std::lock_guard lock(bridge->mutex);
    bridge->accepting = false;
    bridge->waiting = false;
    bridge->timer = nullptr;
    bridge->strand.reset();
  }
};

struct connection {
  explicit connection(tcp::socket&& socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool reading = false;  ///< on the session strand only: a read is pending
  std::string head;      ///< the last answer's status line and fields (its capacity is reused)
};

/// Bytes of a connection's header-field arena kept inside the session; a request whose fields
/// need more takes the rest from the heap until the next request resets the arena.
inline constexpr std::size_t fields_arena_bytes = 2048;

}  // namespace keyledger::infra::detail::server

namespace keyledger::infra {

struct http_server::impl {
  using connection = detail::server::connection;
  using post_gate = detail::server::post_gate;
  using tcp = detail::server::tcp;
  impl(server_options o, request_handler h, error_renderer r)
      : options(std::move(o)),
        handler(std::move(h)),
        render_error(std::move(r)),
        ioc(static_cast<int>(std::max<std::size_t>(options.io_threads, 1))),
        control(boost::asio::make_strand(ioc)),
        acceptor(control),
        signals(control),
        shutdown_timer(control) {}

  ~impl() {
    std::lock_guard lock(gate->mutex);
    gate->open = false;
  }

  http_response render(unsigned status, std::string_view code, std::string_view request_id);
  void begin_shutdown();
  void finish_if_drained();
  void end_session(const std::shared_ptr<connection>& conn);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(std::shared_ptr<connection> conn);
  /// Readies one answer for sending (its head into conn.head); the buffers to write, which
  /// stay valid while `answer` and `conn` do. Not a coroutine: the hot path writes them from
  /// the session's own frame, so an answer costs no coroutine frame (with many connections
  /// answered in one turn of the event loop, Asio's per-thread frame cache would not hold
  /// them all, and each write would allocate).
  std::array<boost::asio::const_buffer, 2> prepare_answer(connection& conn, http_response& answer,
                                                          unsigned version, bool keep_alive,
                                                          std::string_view request_id);
  /// Sends one answer (slow paths); false if the connection failed.
  boost::asio::awaitable<bool> write(connection& conn, http_response&& answer, unsigned version,
                                     bool keep_alive, std::string_view request_id);
  boost::asio::awaitable<void> linger_close(connection& conn);

  server_options options;
  request_handler handler;
  error_renderer render_error;
  std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();

  boost::asio::io_context ioc;
  boost::asio::any_io_executor control;  ///< strand for the acceptor, signals and shutdown
  tcp::acceptor acceptor;
  boost::asio::signal_set signals;
  boost::asio::steady_timer shutdown_timer;
  std::atomic<std::uint16_t> bound_port{0};

  std::atomic<bool> stopping{false};
  bool shutdown_started = false;  ///< control strand only
  std::atomic<std::size_t> connections{0};
  std::mutex sessions_mutex;
  std::unordered_set<std::shared_ptr<connection>> sessions;
};

}  // namespace keyledger::infra

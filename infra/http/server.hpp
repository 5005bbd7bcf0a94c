#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "infra/http/fields.hpp"
#include "infra/http/responder.hpp"

namespace keyledger::infra {

/// A parsed request, free of Beast types so that services/ never includes Boost.
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< path and query as received
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_ip;
  std::string request_id;  ///< generated per request ("req_..."), echoed as Request-Id

  /// The first header with this name (case-insensitive), or "" if absent.
  std::string_view header(std::string_view name) const noexcept;

  /// Empties every field but keeps its storage, for the next request read into this object
  /// (detail::fill_http_request): the header entries stay, emptied, until then. Not a request
  /// to hand to anyone in that state.
  void clear_keeping_storage() noexcept;
};

/// An answer. Its content type and header fields live inside it (fields.hpp): building one
/// allocates nothing but the body.
struct http_response {
  unsigned status = 200;
  short_text content_type = "application/json";  ///< empty: no Content-Type field
  header_list headers;
  std::string body;
};

// responder (responder.hpp) completes one request. Callable exactly once, from any thread;
// later calls are ignored.

/// The application: answers on the I/O thread (fast path) or hands work to a blocking_pool and
/// calls the responder from there. Must not block.
using request_handler = std::function<void(http_request&&, responder)>;

/// Built-in answers (limits, deadline) are rendered by this, so the JSON error shape is owned
/// by services/. `code` is one of: "BAD_REQUEST", "PAYLOAD_TOO_LARGE",
/// "HEADERS_TOO_LARGE", "DEADLINE_EXCEEDED", "UNAVAILABLE".
using error_renderer = std::function<http_response(unsigned status, std::string_view code,
                                                   std::string_view request_id)>;

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0: any free port (see http_server::port())
  std::size_t io_threads = 2;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  std::size_t max_connections = 10000;
  std::chrono::milliseconds read_timeout{10000};     ///< a whole request must arrive in this
  std::chrono::milliseconds idle_timeout{60000};     ///< keep-alive between requests
  std::chrono::milliseconds request_deadline{5000};  ///< handler must respond in this
  std::chrono::milliseconds write_timeout{10000};
};

/// Boost.Beast HTTP/1.1 server: one C++20 coroutine per connection on its own strand,
/// keep-alive, a deadline on every read and write, limits on header and body size. On
/// SIGINT/SIGTERM (or stop()) it stops accepting, lets in-flight requests finish (answering
/// with Connection: close), and run() returns.
class http_server {
 public:
  http_server(server_options options, request_handler handler, error_renderer render_error);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and listens (throws infra::error(errc::config) if it cannot). After this, port()
  /// is the bound port.
  void listen();
  std::uint16_t port() const noexcept;

  /// Serves on options.io_threads threads (the caller's included) until a signal or stop();
  /// then drains and returns.
  void run();

  /// Thread-safe; begins the graceful shutdown.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#include "infra/http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_set>

#include "domain/encoding.hpp"
#include "domain/types.hpp"
#include "infra/core/buffer_pool.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/http/detail/wire.hpp"

namespace keyledger::infra {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Bytes asked of the socket per read; a typical request arrives in one.
constexpr std::size_t read_chunk = 16 * 1024;
/// After a rejected request, at most this much of what the client still sends is discarded.
constexpr std::size_t linger_drain_limit = 1024 * 1024;
constexpr std::chrono::milliseconds linger_timeout{1000};
constexpr std::chrono::milliseconds accept_retry_delay{50};

using detail::limit_parser;
using detail::new_request_id;
using detail::parse_buffered;
using detail::rejection_for;
using detail::remote_ip_of;
using detail::request_parser;

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
constexpr std::size_t fields_arena_bytes = 2048;

void run_io(asio::io_context& ioc) {
  // A handler that throws must not take an I/O thread down with it.
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log(log_level::error, "io_thread_exception", {{"what", e.what()}});
    }
  }
}

}  // namespace

void responder::operator()(http_response response) const {
  if (ops_ == nullptr) throw std::bad_function_call();
  ops_->call(storage_, std::move(response));
}

void http_request::clear_keeping_storage() noexcept {
  // Zeroed, not only emptied: a kept request's storage must not hold the last request's
  // credentials (an Authorization header, a key in the body) while it waits for the next one.
  const auto wipe = [](std::string& s) {
    std::fill(s.begin(), s.end(), '\0');
    s.clear();
  };
  wipe(method);
  wipe(target);
  for (auto& [name, value] : headers) {
    wipe(name);
    wipe(value);
  }
  wipe(body);
  wipe(remote_ip);
  wipe(request_id);
}

std::string_view http_request::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers) {
    if (domain::iequals_ascii(key, name)) return value;
  }
  return {};
}

struct http_server::impl {
  impl(server_options o, request_handler h, error_renderer r)
      : options(std::move(o)),
        handler(std::move(h)),
        render_error(std::move(r)),
        ioc(static_cast<int>(std::max<std::size_t>(options.io_threads, 1))),
        control(asio::make_strand(ioc)),
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
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(std::shared_ptr<connection> conn);
  /// Readies one answer for sending (its head into conn.head); the buffers to write, which
  /// stay valid while `answer` and `conn` do. Not a coroutine: the hot path writes them from
  /// the session's own frame, so an answer costs no coroutine frame (with many connections
  /// answered in one turn of the event loop, Asio's per-thread frame cache would not hold
  /// them all, and each write would allocate).
  std::array<asio::const_buffer, 2> prepare_answer(connection& conn, http_response& answer,
                                                   unsigned version, bool keep_alive,
                                                   std::string_view request_id);
  /// Sends one answer (slow paths); false if the connection failed.
  asio::awaitable<bool> write(connection& conn, http_response&& answer, unsigned version,
                              bool keep_alive, std::string_view request_id);
  asio::awaitable<void> linger_close(connection& conn);

  server_options options;
  request_handler handler;
  error_renderer render_error;
  std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();

  asio::io_context ioc;
  asio::any_io_executor control;  ///< strand for the acceptor, signals and shutdown
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer shutdown_timer;
  std::atomic<std::uint16_t> bound_port{0};

  std::atomic<bool> stopping{false};
  bool shutdown_started = false;  ///< control strand only
  std::atomic<std::size_t> connections{0};
  std::mutex sessions_mutex;
  std::unordered_set<std::shared_ptr<connection>> sessions;
};

http_response http_server::impl::render(unsigned status, std::string_view code,
                                        std::string_view request_id) {
  try {
    return render_error(status, code, request_id);
  } catch (const std::exception& e) {
    log(log_level::error, "error_renderer_failed", {{"what", e.what()}});
  }
  http_response fallback;
  fallback.status = status;
  fallback.body = "{\"code\":\"" + std::string(code) + "\"}";
  return fallback;
}

void http_server::impl::begin_shutdown() {
  if (shutdown_started) return;
  shutdown_started = true;
  stopping.store(true);
  log(log_level::info, "shutting_down", {{"connections", std::to_string(connections.load())}});

  // Stop accepting; a second signal has nothing left to interrupt.
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);

  // Sessions waiting for a request are cancelled; those with one in flight finish it and
  // answer with Connection: close.
  std::vector<std::shared_ptr<connection>> snapshot;
  {
    std::lock_guard lock(sessions_mutex);
    snapshot.assign(sessions.begin(), sessions.end());
  }
  for (auto& conn : snapshot) {
    asio::post(conn->stream.get_executor(), [conn] {
      if (conn->reading) conn->stream.cancel();
    });
  }

  // Never hang: a handler that does not answer has had its deadline by then.
  shutdown_timer.expires_after(options.request_deadline + std::chrono::seconds(1));
  shutdown_timer.async_wait([this](const beast::error_code& wait_ec) {
    if (wait_ec) return;
    log(log_level::warn, "shutdown_forced", {{"connections", std::to_string(connections.load())}});
    ioc.stop();
  });
  finish_if_drained();
}

void http_server::impl::finish_if_drained() {
  if (!shutdown_started || connections.load() != 0) return;
  shutdown_timer.cancel();
  ioc.stop();
}

void http_server::impl::end_session(const std::shared_ptr<connection>& conn) {
  {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(conn);
  }
  // seq_cst pairs with begin_shutdown (store stopping, then load connections): one of the two
  // sees the other, so the last session out always triggers the final stop.
  if (connections.fetch_sub(1) == 1 && stopping.load()) {
    asio::post(control, [this] { finish_if_drained(); });
  }
}

asio::awaitable<void> http_server::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::any_io_executor(asio::make_strand(ioc)), use_tuple);
    if (stopping.load() || !acceptor.is_open()) {
      beast::error_code ignored;
      socket.close(ignored);
      co_return;
    }
    if (ec) {
      // Typically EMFILE: back off briefly instead of spinning on the error.
      log(log_level::warn, "accept_failed", {{"reason", ec.message()}});
      asio::steady_timer delay(control, accept_retry_delay);
      co_await delay.async_wait(use_tuple);
      continue;
    }
    if (connections.load() >= options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);

    auto conn = std::make_shared<connection>(std::move(socket));
    connections.fetch_add(1);
    {
      std::lock_guard lock(sessions_mutex);
      sessions.insert(conn);
    }
    asio::co_spawn(conn->stream.get_executor(), session(conn),
                   [this, conn](std::exception_ptr failure) {
                     if (failure) {
                       try {
                         std::rethrow_exception(failure);
                       } catch (const std::exception& e) {
                         log(log_level::error, "session_failed", {{"what", e.what()}});
                       }
                     }
                     end_session(conn);
                   });
  }
}

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

http_server::http_server(server_options options, request_handler handler,
                         error_renderer render_error)
    : impl_(std::make_unique<impl>(std::move(options), std::move(handler),
                                   std::move(render_error))) {}

http_server::~http_server() = default;

void http_server::listen() {
  auto& o = impl_->options;
  std::string host = o.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string where = o.host + ":" + std::to_string(o.port);
  const auto fail = [&where](const std::string& reason) {
    throw error(errc::config, "cannot listen on " + where + ": " + reason);
  };

  // A literal address binds as is; a name ("localhost") is resolved, IPv4 first.
  beast::error_code ec;
  std::vector<tcp::endpoint> candidates;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    candidates.emplace_back(literal, o.port);
  } else {
    tcp::resolver resolver(impl_->ioc);
    const auto results =
        resolver.resolve(host, std::to_string(o.port), tcp::resolver::numeric_service, ec);
    if (ec) fail(ec.message());
    for (const auto& entry : results) candidates.push_back(entry.endpoint());
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const tcp::endpoint& a, const tcp::endpoint& b) {
                       return a.address().is_v4() && !b.address().is_v4();
                     });
  }
  if (candidates.empty()) fail("no address");

  auto& acceptor = impl_->acceptor;
  for (const auto& endpoint : candidates) {
    ec.clear();
    beast::error_code ignored;
    if (acceptor.is_open()) acceptor.close(ignored);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) break;
  }
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    fail(ec.message());
  }
  impl_->bound_port.store(acceptor.local_endpoint(ec).port());
  log(log_level::info, "listening",
      {{"host", o.host}, {"port", std::to_string(impl_->bound_port.load())}});
}

std::uint16_t http_server::port() const noexcept { return impl_->bound_port.load(); }

void http_server::run() {
  if (!impl_->acceptor.is_open()) listen();

  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](const beast::error_code& ec, int signal_number) {
    if (ec) return;
    log(log_level::info, "signal_received", {{"signal", std::to_string(signal_number)}});
    impl_->begin_shutdown();
  });
  asio::co_spawn(impl_->control, impl_->accept_loop(), [](std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      log(log_level::error, "accept_loop_failed", {{"what", e.what()}});
    }
  });

  // The caller's thread is one of the I/O threads.
  std::vector<std::thread> threads;
  const std::size_t count = std::max<std::size_t>(impl_->options.io_threads, 1);
  threads.reserve(count - 1);
  for (std::size_t i = 1; i < count; ++i) threads.emplace_back([this] { run_io(impl_->ioc); });
  run_io(impl_->ioc);
  for (auto& t : threads) t.join();
}

void http_server::stop() {
  asio::post(impl_->control, [this] { impl_->begin_shutdown(); });
}

}  // namespace keyledger::infra

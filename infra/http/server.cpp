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
#include "infra/core/wipe.hpp"
#include "infra/http/detail/server_impl.hpp"
#include "infra/http/detail/wire.hpp"

namespace keyledger::infra {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace detail::server;  // NOLINT: this file's own insides

namespace {

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
  const auto wipe = [](std::string& s) { wipe_storage(s); };
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

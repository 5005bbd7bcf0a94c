#include "infra/http/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <variant>
#include <vector>

#include "domain/encoding.hpp"

namespace keyledger::infra {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && domain::iequals_ascii(s.substr(0, prefix.size()), prefix);
}

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// RFC 9110 token characters (method and header names).
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

/// Visible ASCII only: no space, no control character, nothing that could end the request line.
bool is_visible(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

/// A header value may hold spaces and tabs, never a line break or NUL (header injection).
bool safe_header_value(std::string_view v) noexcept {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

std::string where(const http_endpoint& e) {
  return (e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":" +
         std::to_string(e.port);
}

client_error fail(std::string message) { return client_error{std::move(message)}; }

/// Why OpenSSL refused the certificate `peer` presented, in its words plus what it usually
/// means.
std::string verify_failure(long result, const std::string& peer) {
  std::string message = "TLS certificate verification failed: ";
  message += X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return message + " - the certificate of " + peer + " is for another host";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return message + " - unknown issuer: no trusted CA signed the certificate of " + peer;
    default:
      return message + " (" + peer + ")";
  }
}

/// The client side of TLS: 1.2 or later, the peer verified against the system store, or
/// against only the given CAs. Its error is one that is safe to show.
std::variant<std::unique_ptr<ssl::context>, client_error> make_tls_context(
    const http_client_options& options) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return fail("cannot set up TLS (minimum version)");
  }
  context->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (options.ca_file.empty() && options.ca_pem.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return fail("cannot load the system's CA certificates: " + ec.message());
  }
  if (!options.ca_file.empty()) {
    context->load_verify_file(options.ca_file, ec);
    if (ec) return fail("cannot load the CA file " + options.ca_file + ": " + ec.message());
  }
  if (!options.ca_pem.empty()) {
    context->add_certificate_authority(asio::buffer(options.ca_pem), ec);
    if (ec) return fail("cannot load the CA certificates given as PEM: " + ec.message());
  }
  return context;
}

}  // namespace

domain::result<http_endpoint, std::string> parse_http_url(std::string_view url) {
  http_endpoint e;
  std::string_view rest;
  if (istarts_with(url, "https://")) {
    e.tls = true;
    e.port = 443;
    rest = url.substr(8);
  } else if (istarts_with(url, "http://")) {
    rest = url.substr(7);
  } else {
    return std::string("the URL must start with http:// or https:// (e.g. http://127.0.0.1:8080)");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return std::string("the URL must not contain a query or a fragment");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    // Credentials in a URL end up in shell history and process lists; the key has its own
    // variable.
    return std::string("the URL must not contain user info (user:password@)");
  }

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::string("the URL's IPv6 address lacks ']'");
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("unexpected text after the URL's ']'");
      has_port = true;
      port_text = after.substr(1);
    }
    const bool v6_chars = std::all_of(host.begin(), host.end(),
                                      [](char c) { return is_hex(c) || c == ':' || c == '.'; });
    if (host.empty() || !v6_chars) return std::string("the URL's IPv6 address is malformed");
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) {
        return std::string("an IPv6 address in a URL goes in brackets: http://[::1]:8080");
      }
    }
    const bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
      return is_alnum(c) || c == '.' || c == '-' || c == '_';
    });
    if (host.empty()) return std::string("the URL has no host");
    if (!name_chars) return std::string("the URL's host is malformed");
  }
  if (has_port) {
    const auto port = parse_port(port_text);
    if (!port) return std::string("the URL's port must be a number from 1 to 65535");
    e.port = *port;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!is_visible(path)) return std::string("the URL's path contains spaces or control characters");
  e.host = std::string(host);
  e.base_path = std::string(path);
  e.host_header = std::string(authority);
  return e;
}

std::string_view client_response::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers) {
    if (domain::iequals_ascii(n, name)) return v;
  }
  return {};
}

struct http_client::impl {
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;

  http_endpoint endpoint;
  http_client_options options;
  asio::io_context ioc{1};
  std::unique_ptr<ssl::context> tls_context;  // https only
  std::optional<client_error> setup_error;    // the TLS context could not be made
  // The open connection, if any: plain for http, secure for https.
  std::optional<beast::tcp_stream> plain;
  std::optional<tls_stream> secure;
  beast::flat_buffer buffer;

  impl(http_endpoint e, http_client_options o) : endpoint(std::move(e)), options(std::move(o)) {
    if (!endpoint.tls) return;
    auto made = make_tls_context(options);
    if (auto* error = std::get_if<client_error>(&made)) {
      setup_error = std::move(*error);
    } else {
      tls_context = std::move(std::get<std::unique_ptr<ssl::context>>(made));
    }
  }

  bool connected() const noexcept { return plain || secure; }

  /// The TCP layer of the open connection (which carries the deadlines).
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  /// Calls `f` with the open connection's stream, whichever type it is.
  template <class F>
  void with_stream(F&& f) {
    if (secure) {
      f(*secure);
    } else {
      f(*plain);
    }
  }

  /// Runs the queued operations to completion (each one has its own deadline).
  void run() {
    ioc.restart();
    ioc.run();
  }

  /// `graceful`: the connection is in a known state (between exchanges), so TLS can say
  /// goodbye with close_notify; after an error it is just dropped.
  void close(bool graceful = false) {
    if (secure && graceful) {
      // Send close_notify and wait for the server's, within a deadline. A server that drops
      // the connection instead (stream_truncated), or never answers, changes nothing here.
      tcp().expires_after(options.connect_timeout);
      secure->async_shutdown([](const beast::error_code&) {});
      run();
    }
    if (connected()) {
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
      tcp().socket().close(ignored);
    }
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  std::optional<client_error> connect() {
    close();
    const auto deadline = clock_type::now() + options.connect_timeout;

    // Resolution has no deadline of its own in Asio: a timer cancels it.
    tcp::resolver resolver(ioc);
    asio::steady_timer timer(ioc);
    bool resolve_timed_out = false;
    beast::error_code resolve_ec;
    tcp::resolver::results_type endpoints;
    timer.expires_at(deadline);
    timer.async_wait([&](const beast::error_code& ec) {
      if (!ec) {
        resolve_timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                           [&](const beast::error_code& ec, tcp::resolver::results_type r) {
                             resolve_ec = ec;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    run();
    if (resolve_timed_out) {
      auto late = fail("cannot resolve " + endpoint.host + " within " +
                       std::to_string(options.connect_timeout.count()) + " ms");
      late.timed_out = true;
      return late;
    }
    if (resolve_ec) return fail("cannot resolve " + endpoint.host + ": " + resolve_ec.message());
    // Only the allowed addresses are ever connected to.
    std::vector<tcp::endpoint> candidates;
    for (const auto& entry : endpoints) {
      const auto address = entry.endpoint().address();
      const auto text =
          address.is_v6() && address.to_v6().is_v4_mapped()
              ? asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string()
              : address.to_string();
      if (!options.address_allowed || options.address_allowed(text)) {
        candidates.push_back(entry.endpoint());
      }
    }
    if (candidates.empty()) {
      auto refused = fail(endpoint.host + " resolves to no address that may be connected to");
      refused.refused = true;
      return refused;
    }

    // Try each address in turn until one accepts, all within the deadline.
    if (tls_context) {
      secure.emplace(ioc, *tls_context);
    } else {
      plain.emplace(ioc);
    }
    tcp().expires_at(deadline);
    beast::error_code connect_ec;
    tcp().async_connect(
        candidates, [&](const beast::error_code& ec, const tcp::endpoint&) { connect_ec = ec; });
    run();
    if (connect_ec) {
      plain.reset();
      secure.reset();
      if (connect_ec == beast::error::timeout) {
        auto late = fail("cannot connect to " + where(endpoint) + " within " +
                         std::to_string(options.connect_timeout.count()) + " ms");
        late.timed_out = true;
        return late;
      }
      return fail("cannot connect to " + where(endpoint) + ": " + connect_ec.message());
    }
    beast::error_code ignored;
    tcp().socket().set_option(tcp::no_delay(true), ignored);
    if (secure) return handshake(deadline);
    return std::nullopt;
  }

  /// The TLS handshake on the connection just made, within what is left of the connect
  /// deadline.
  std::optional<client_error> handshake(clock_type::time_point deadline) {
    SSL* const ssl_handle = secure->native_handle();
    // Verify the address for an IP literal, else the name (no partial wildcards such as
    // "w*.example.com"); SNI carries names only (RFC 6066). A trailing dot is not part of the
    // name a certificate holds.
    beast::error_code not_an_address;
    asio::ip::make_address(endpoint.host, not_an_address);
    if (!not_an_address) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), endpoint.host.c_str()) != 1) {
        close();
        return fail("cannot set up TLS for " + where(endpoint));
      }
    } else {
      std::string name = endpoint.host;
      if (!name.empty() && name.back() == '.') name.pop_back();
      SSL_set_hostflags(ssl_handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl_handle, name.c_str()) != 1 ||
          SSL_set_tlsext_host_name(ssl_handle, name.c_str()) != 1) {
        close();
        return fail("cannot set up TLS for " + where(endpoint));
      }
    }

    tcp().expires_at(deadline);
    beast::error_code handshake_ec;
    secure->async_handshake(ssl::stream_base::client,
                            [&](const beast::error_code& ec) { handshake_ec = ec; });
    run();
    if (!handshake_ec) return std::nullopt;
    // Read before the stream goes: X509_V_OK unless the certificate was seen and refused.
    const long verify_result = SSL_get_verify_result(ssl_handle);
    close();
    if (handshake_ec == beast::error::timeout) {
      return fail("the TLS handshake with " + where(endpoint) + " did not complete within " +
                  std::to_string(options.connect_timeout.count()) + " ms");
    }
    if (verify_result != X509_V_OK) {
      return fail(verify_failure(verify_result, where(endpoint)));
    }
    return fail("the TLS handshake with " + where(endpoint) + " failed: " + handshake_ec.message());
  }

  struct exchange_outcome {
    std::optional<client_response> response;
    std::optional<client_error> error;
    bool stale = false;  // the connection was gone before any byte of an answer arrived
  };

  exchange_outcome exchange(http::request<http::string_body>& req, bool head) {
    exchange_outcome out;
    const auto timeout_error = [&] {
      auto late = fail("no answer from " + where(endpoint) + " within " +
                       std::to_string(options.request_timeout.count()) + " ms");
      late.timed_out = true;
      return late;
    };
    tcp().expires_after(options.request_timeout);

    // Send the request.
    beast::error_code write_ec;
    with_stream([&](auto& stream) {
      http::async_write(stream, req,
                        [&](const beast::error_code& ec, std::size_t) { write_ec = ec; });
    });
    run();
    if (write_ec) {
      close();
      out.stale = write_ec != beast::error::timeout;
      out.error = write_ec == beast::error::timeout
                      ? timeout_error()
                      : fail(where(endpoint) +
                             " closed the connection before the request "
                             "was sent (" +
                             write_ec.message() + ")");
      return out;
    }

    // Receive the whole response, within the limits.
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(options.body_limit);
    if (head) parser.skip(true);
    beast::error_code read_ec;
    with_stream([&](auto& stream) {
      http::async_read(stream, buffer, parser,
                       [&](const beast::error_code& ec, std::size_t) { read_ec = ec; });
    });
    run();
    if (read_ec == http::error::body_limit && options.truncate_body && parser.is_header_done()) {
      // What arrived of the body is kept; the rest is never read.
      auto& partial = parser.get();
      client_response response;
      response.status = partial.result_int();
      for (const auto& field : partial) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      response.body = std::move(partial.body());
      close();
      out.response = std::move(response);
      return out;
    }
    if (read_ec) {
      const bool nothing_received = !parser.got_some();
      close();
      if (read_ec == beast::error::timeout) {
        out.error = timeout_error();
      } else if (read_ec == http::error::body_limit) {
        out.error = fail("the response body from " + where(endpoint) + " exceeds the " +
                         std::to_string(options.body_limit) + "-byte limit");
      } else if (read_ec == http::error::header_limit) {
        out.error = fail("the response headers from " + where(endpoint) + " exceed the " +
                         std::to_string(options.header_limit) + "-byte limit");
      } else if (read_ec == http::error::end_of_stream || read_ec == http::error::partial_message ||
                 read_ec == asio::error::connection_reset || read_ec == asio::error::eof ||
                 read_ec == ssl::error::stream_truncated) {
        // stream_truncated: over TLS, the TCP connection ended without close_notify.
        out.stale = nothing_received;
        out.error = fail(where(endpoint) + " closed the connection without a complete answer");
      } else if (read_ec.category() == beast::error_code(http::error::bad_version).category()) {
        out.error = fail("malformed HTTP response from " + where(endpoint) + " (" +
                         read_ec.message() + ")");
      } else {
        out.error =
            fail("cannot read the response from " + where(endpoint) + ": " + read_ec.message());
      }
      return out;
    }

    auto& message = parser.get();
    client_response response;
    response.status = message.result_int();
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) close(/*graceful=*/true);
    out.response = std::move(response);
    return out;
  }
};

http_client::http_client(http_endpoint endpoint, http_client_options options)
    : impl_(std::make_unique<impl>(std::move(endpoint), std::move(options))) {}

http_client::~http_client() {
  if (impl_) impl_->close(/*graceful=*/true);
}

const http_endpoint& http_client::endpoint() const noexcept { return impl_->endpoint; }

domain::result<client_response, client_error> http_client::send(const client_request& request) {
  // Refuse what cannot go on the wire verbatim. Messages name the header, never its value.
  if (!is_token(request.method)) return fail("invalid HTTP method");
  if (request.target.empty() || request.target.front() != '/' || !is_visible(request.target)) {
    return fail("invalid request target (it must start with '/' and hold no spaces)");
  }
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(impl_->endpoint.base_path + request.target);
  req.version(11);
  req.set(http::field::host, impl_->endpoint.host_header);
  req.set(http::field::user_agent, impl_->options.user_agent);
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) return fail("invalid header name");
    if (!safe_header_value(value)) {
      return fail("the " + name + " header contains a line break or NUL; not sent");
    }
    req.set(name, value);
  }
  req.body() = request.body;
  req.keep_alive(true);
  req.prepare_payload();
  const bool head = request.method == "HEAD";
  if (impl_->setup_error) return *impl_->setup_error;

  const bool reused = impl_->connected();
  if (!reused) {
    if (auto e = impl_->connect()) return *e;
  }
  auto outcome = impl_->exchange(req, head);
  // A kept-alive connection the server has since closed looks like this; the request was not
  // processed, so an idempotent one can go again on a fresh connection.
  if (outcome.error && outcome.stale && reused && idempotent(request.method)) {
    if (auto e = impl_->connect()) return *e;
    outcome = impl_->exchange(req, head);
  }
  if (outcome.error) return *outcome.error;
  return std::move(*outcome.response);
}

}  // namespace keyledger::infra

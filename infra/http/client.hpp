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

#include "domain/result.hpp"

namespace keyledger::infra {

/// Where an http_client sends its requests, from an `http://` or `https://` URL.
struct http_endpoint {
  std::string host;         ///< a name or an address (IPv6 without brackets)
  std::uint16_t port = 80;  ///< 80 (http) or 443 (https) unless the URL names one
  std::string base_path;    ///< "" or "/prefix" (no trailing slash); prepended to every target
  std::string host_header;  ///< the Host header: "host[:port]" as the URL wrote it
  bool tls = false;         ///< https: TLS, the server's certificate verified for `host`
};

/// Parses `http://host[:port][/path]` or `https://host[:port][/path]` (host: a name, a.b.c.d
/// or [v6]; the scheme in any case). Refused, with a message that is safe to print (it never
/// repeats the URL, which may carry credentials): any other scheme, user info
/// (`user:pass@`), a query or fragment, an empty host, a port outside 1-65535.
domain::result<http_endpoint, std::string> parse_http_url(std::string_view url);

struct http_client_options {
  /// Name resolution, TCP connect and (https) the TLS handshake together; also bounds the TLS
  /// close_notify exchange when a connection is closed.
  std::chrono::milliseconds connect_timeout{5000};
  /// Sending one request and receiving its whole response.
  std::chrono::milliseconds request_timeout{30000};
  /// A longer response body is refused (the connection is dropped, not drained).
  std::size_t body_limit = 4 * 1024 * 1024;
  /// Status line plus headers.
  std::size_t header_limit = 16 * 1024;
  std::string user_agent = "keyledger-cli";
  /// https only: a PEM file of the CA certificates to trust (a private CA). When it or
  /// `ca_pem` is set, only these CAs are trusted, not the system store.
  std::string ca_file;
  /// https only: the same as PEM text (several certificates may follow each other).
  std::string ca_pem;
  /// When set, called with each address the host resolves to (canonical text, e.g. "10.0.0.1",
  /// "::1"); only the addresses it allows are connected to (the check is made after resolution,
  /// on the very addresses used, so a name cannot change its answer in between). None allowed:
  /// a client_error with `refused` set, and nothing is sent.
  std::function<bool(std::string_view address)> address_allowed;
  /// A longer body is cut at `body_limit` and the response returned as received so far (the
  /// connection is then closed) instead of failing.
  bool truncate_body = false;
};

/// One request. `target` is the path and query ("/v1/keys?limit=5"); the endpoint's base_path
/// is prepended. Host, User-Agent and Content-Length are set by the client; a body is sent as
/// given (set Content-Type yourself).
struct client_request {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct client_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header with this name (case-insensitive), or "" if absent.
  std::string_view header(std::string_view name) const noexcept;
};

/// A transport failure: no connection, a failed TLS handshake or certificate verification, a
/// timeout, a malformed or oversized answer, or a request that cannot be sent safely (a line
/// break in a header). `message` is meant for a person and
/// never contains a request header value (so never the Authorization header) or a body.
struct client_error {
  std::string message;
  bool timed_out = false;  ///< a deadline passed
  bool refused = false;    ///< address_allowed refused every address of the host
};

/// A small synchronous HTTP/1.1 client (Boost.Beast and OpenSSL inside the .cpp only), over
/// TCP or, for an https endpoint, TLS 1.2 or later: the server's certificate chain is verified
/// against the system CA store (or only `ca_file`/`ca_pem`), and its name against the
/// endpoint's host (the address for an IP literal; SNI carries a name, never an address). A
/// certificate that fails is a client_error saying why ("TLS certificate verification failed:
/// ..."). Keeps one connection open between requests while the server allows it; when a reused
/// connection turns out to have been closed by the server before it answered, an idempotent
/// request (GET, HEAD, PUT, DELETE, OPTIONS) is sent once more on a new connection, any other
/// fails. Every step has a deadline (http_client_options). Logs nothing.
///
/// Not thread-safe: one thread uses one client.
class http_client {
 public:
  explicit http_client(http_endpoint endpoint, http_client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `request` and waits for the whole response (any status is a response). With an
  /// unusable `ca_file`/`ca_pem`, every call fails saying so and nothing is sent.
  domain::result<client_response, client_error> send(const client_request& request);

  const http_endpoint& endpoint() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace keyledger::infra

#pragma once

// Private to infra/http (includes Beast): what the server does with the bytes of one request
// before the handler sees it - its id, the peer's address, the parser's failures that deserve
// an answer - and the check on headers going out.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>

#include "infra/http/server.hpp"

namespace keyledger::infra::detail {

/// A fresh request id, "req_..." (a per-thread PRNG: ids are correlation handles, not secrets),
/// written into `out` (whose capacity is kept).
void new_request_id(std::string& out);

/// Header names and values from the application go on the wire verbatim: refuse anything that
/// could split the response.
bool safe_header(std::string_view name, std::string_view value) noexcept;

/// The peer's address as text (an IPv4-mapped IPv6 address as plain IPv4); "" if unknown.
std::string remote_ip_of(const boost::asio::ip::tcp::socket& socket);

/// Parse failures that deserve an answer; everything else (eof, reset, timeout) closes quietly.
struct rejection {
  unsigned status;
  std::string_view code;
};

std::optional<rejection> rejection_for(const boost::beast::error_code& ec, bool header_done);

/// A request's header fields come from a per-connection arena (std::pmr, reset for each
/// request) instead of one heap allocation per field. A default-constructed parser uses the
/// default resource (the heap), as before.
using fields_allocator = std::pmr::polymorphic_allocator<char>;
using request_parser =
    boost::beast::http::request_parser<boost::beast::http::string_body, fields_allocator>;

/// A parser whose fields live in `arena`.
inline request_parser parser_in(std::pmr::memory_resource& arena) {
  return request_parser(std::piecewise_construct, std::make_tuple(),
                        std::make_tuple(fields_allocator(&arena)));
}

/// Sets the server's limits on a fresh parser (header and body size, eager body): one place,
/// shared with the fuzz target of tests/fuzz that feeds the parser arbitrary bytes.
void limit_parser(request_parser& parser, const server_options& options);

/// The request the handler sees, from the parsed message: method, target, every header in
/// order, the body. The caller sets remote_ip and request_id.
http_request to_http_request(request_parser::value_type&& message);

/// The same, into `out`, whose strings and header entries are assigned rather than made anew
/// (their storage is reused); the body is moved from the message.
void fill_http_request(request_parser::value_type& message, http_request& out);

/// Feeds the parser what the buffer already holds. need_more is not an error here: the caller
/// reads the rest from the socket.
boost::beast::error_code parse_buffered(request_parser& parser, boost::beast::flat_buffer& buffer);

/// The status line and header fields of an answer, written into `out` (cleared first; a
/// connection reuses one string, so this allocates only when a head outgrows all before it):
/// Content-Type, the application's headers in order (any that safe_header refuses, and any
/// Content-Length, Transfer-Encoding or Connection, are left out: framing is the server's),
/// Request-Id, Connection as `keep_alive` and `version` need it, then Content-Length — except
/// for 1xx, 204 and 304, which have no body (`body_allowed` is set false: send none).
void write_response_head(std::string& out, unsigned version, const http_response& answer,
                         std::string_view request_id, bool keep_alive, bool& body_allowed);

}  // namespace keyledger::infra::detail

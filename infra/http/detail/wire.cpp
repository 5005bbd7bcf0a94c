#include "infra/http/detail/wire.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <span>

#include "domain/encoding.hpp"
#include "domain/types.hpp"

namespace keyledger::infra::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// Request ids are correlation handles, not secrets: a per-thread PRNG seeded from the OS
/// keeps OpenSSL out of this target and costs nothing on the hot path.
class request_id_random final : public domain::random_source {
 public:
  request_id_random() {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    engine_.seed(seed);
  }

  void fill(std::span<std::uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); i += sizeof(std::uint64_t)) {
      const std::uint64_t word = engine_();
      std::memcpy(out.data() + i, &word, std::min(sizeof(word), out.size() - i));
    }
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace

void new_request_id(std::string& out) {
  thread_local request_id_random random;
  domain::new_id(out, "req", random);
}

/// Header names and values from the application go on the wire verbatim: refuse anything that
/// could split the response.
bool safe_header(std::string_view name, std::string_view value) noexcept {
  const auto clean = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
  };
  return !name.empty() && clean(name) && clean(value);
}

std::string remote_ip_of(const tcp::socket& socket) {
  beast::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return {};
  auto address = endpoint.address();
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; CIDR rules are written for a.b.c.d.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

std::optional<rejection> rejection_for(const beast::error_code& ec, bool header_done) {
  if (ec == http::error::body_limit) return rejection{413, "PAYLOAD_TOO_LARGE"};
  if (ec == http::error::header_limit) return rejection{431, "HEADERS_TOO_LARGE"};
  if (ec == http::error::buffer_overflow) {
    return header_done ? rejection{413, "PAYLOAD_TOO_LARGE"} : rejection{431, "HEADERS_TOO_LARGE"};
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == beast::error_code(http::error::bad_method).category()) {
    return rejection{400, "BAD_REQUEST"};
  }
  return std::nullopt;
}

void limit_parser(request_parser& parser, const server_options& options) {
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.header_limit, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(options.body_limit);
  parser.eager(true);
}

http_request to_http_request(request_parser::value_type&& message) {
  http_request request;
  fill_http_request(message, request);
  return request;
}

void fill_http_request(request_parser::value_type& message, http_request& out) {
  const auto method = message.method_string();
  out.method.assign(method.data(), method.size());
  const auto target = message.target();
  out.target.assign(target.data(), target.size());
  std::size_t count = 0;
  for (const auto& field : message) {
    const auto name = field.name_string();
    const auto value = field.value();
    if (count < out.headers.size()) {
      out.headers[count].first.assign(name.data(), name.size());
      out.headers[count].second.assign(value.data(), value.size());
    } else {
      out.headers.emplace_back(std::string(name), std::string(value));
    }
    ++count;
  }
  out.headers.resize(count);
  out.body = std::move(message.body());
}

namespace {

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  std::size_t i = sizeof digits;
  do {
    digits[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(digits + i, sizeof digits - i);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

bool framing_field(std::string_view name) noexcept {
  return domain::iequals_ascii(name, "content-length") ||
         domain::iequals_ascii(name, "transfer-encoding") ||
         domain::iequals_ascii(name, "connection");
}

}  // namespace

void write_response_head(std::string& out, unsigned version, const http_response& answer,
                         std::string_view request_id, bool keep_alive, bool& body_allowed) {
  out.clear();
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(out, answer.status);
  out.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(answer.status));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  if (!answer.content_type.empty() && safe_header("Content-Type", answer.content_type)) {
    append_field(out, "Content-Type", answer.content_type);
  }
  for (const auto& [name, value] : answer.headers) {
    if (safe_header(name, value) && !framing_field(name)) append_field(out, name, value);
  }
  if (safe_header("Request-Id", request_id)) append_field(out, "Request-Id", request_id);
  if (version == 10 && keep_alive) append_field(out, "Connection", "keep-alive");
  if (version != 10 && !keep_alive) append_field(out, "Connection", "close");
  const unsigned status = answer.status;
  body_allowed = !(status < 200 || status == 204 || status == 304);
  if (body_allowed) {
    out.append("Content-Length: ");
    append_number(out, answer.body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
}

/// Feeds the parser what the buffer already holds. need_more is not an error here: the caller
/// reads the rest from the socket.
beast::error_code parse_buffered(request_parser& parser, beast::flat_buffer& buffer) {
  beast::error_code ec;
  while (buffer.size() > 0 && !parser.is_done()) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

}  // namespace keyledger::infra::detail

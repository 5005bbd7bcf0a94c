#include "infra/http/detail/wire.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <span>

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

std::string new_request_id() {
  thread_local request_id_random random;
  return domain::new_id("req", random);
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
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  return request;
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

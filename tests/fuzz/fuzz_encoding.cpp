// The byte and text helpers of domain/ (encoding.hpp, types.hpp, net.hpp, text.hpp): strict
// base64url and base64 have exactly one spelling per byte string (decode then encode gives the
// input back); timestamps, IP addresses and CIDRs re-format to text that parses to the same
// value; the UTF-8 decoder always advances within the text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/encoding.hpp"
#include "domain/net.hpp"
#include "domain/text.hpp"
#include "domain/types.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyledger;
  const auto text = fuzz::as_text(data, size);

  if (const auto bytes = domain::base64url_decode(text)) {
    FUZZ_CHECK(domain::base64url_encode(*bytes) == text);
  }
  FUZZ_CHECK(domain::base64url_decode(domain::base64url_encode(text)) == std::string(text));
  if (const auto bytes = domain::base64_decode(text)) {
    FUZZ_CHECK(domain::base64_encode(*bytes) == text);
  }
  FUZZ_CHECK(domain::base64_decode(domain::base64_encode(text)) == std::string(text));
  if (domain::is_keyed_hash(text)) FUZZ_CHECK(text.size() == 64);
  for (const char c : text) {
    const int h = domain::hex_value(c);
    FUZZ_CHECK(h >= -1 && h < 16);
    const int b = domain::base64url_value(c);
    FUZZ_CHECK(b >= -1 && b < 64);
  }

  if (const auto t = domain::parse_timestamp(text)) {
    const auto again = domain::parse_timestamp(domain::format_timestamp(*t));
    FUZZ_CHECK(again == t);
  }
  if (const auto ip = domain::parse_ip(text)) {
    FUZZ_CHECK(domain::parse_ip(domain::to_string(*ip)) == ip);
    (void)domain::is_public_unicast(*ip);
  }
  if (const auto c = domain::parse_cidr(text)) {
    FUZZ_CHECK(domain::parse_cidr(domain::to_string(*c)) == c);
    FUZZ_CHECK(c->contains(c->network));
  }

  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t before = pos;
    if (!domain::decode_utf8(text, pos)) break;
    FUZZ_CHECK(pos > before && pos <= text.size());
  }
  const auto trimmed = domain::trim_ascii(text);
  FUZZ_CHECK(trimmed.size() <= text.size());
  (void)domain::echoable_name(text);
  return 0;
}

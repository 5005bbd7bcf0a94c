// domain::find_keys / contains_key over arbitrary text: every match is a key parse_key accepts,
// matches are in order and do not overlap, and contains_key agrees with find_keys.
#include <cstddef>
#include <cstdint>

#include "domain/keys/key_format.hpp"
#include "domain/keys/key_scan.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyledger;
  const auto text = fuzz::as_text(data, size);
  const auto found = domain::find_keys(text);
  std::size_t end = 0;
  for (const auto& k : found) {
    FUZZ_CHECK(k.offset >= end);
    FUZZ_CHECK(k.offset <= text.size() && k.length <= text.size() - k.offset);
    FUZZ_CHECK(domain::parse_key(text.substr(k.offset, k.length)).ok());
    end = k.offset + k.length;
  }
  FUZZ_CHECK(domain::contains_key(text) == !found.empty());
  return 0;
}

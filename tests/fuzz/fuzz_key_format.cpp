// domain::parse_key over arbitrary bytes: a key that parses re-renders to exactly the input,
// and its parts obey the documented shape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/keys/key_format.hpp"
#include "domain/types.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyledger;
  const auto text = fuzz::as_text(data, size);
  const auto parsed = domain::parse_key(text);
  if (!parsed) return 0;
  const auto& key = parsed.value();
  FUZZ_CHECK(text.size() <= domain::key_max_length);
  FUZZ_CHECK(domain::valid_key_prefix(key.prefix));
  FUZZ_CHECK(key.body.size() == domain::key_body_length);
  const std::string rendered = std::string(key.prefix) + "_" +
                               std::string(domain::to_string(key.env)) + "_" +
                               std::string(key.body);
  FUZZ_CHECK(rendered == text);
  // The checksum covers everything before it.
  const auto visible = domain::visible_start(key);
  FUZZ_CHECK(text.substr(0, visible.size()) == visible);
  return 0;
}

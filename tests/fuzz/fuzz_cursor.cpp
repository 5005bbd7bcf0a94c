// domain::decode_page_cursor over "<list>\n<cursor>": a cursor that decodes is the canonical
// spelling of its position (encode_page_cursor gives the input back), with a plausible id.
#include <cstddef>
#include <cstdint>

#include "domain/cursor.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyledger;
  const auto [list, text] = fuzz::split_line(fuzz::as_text(data, size));
  for (const auto l : {list, std::string_view()}) {
    const auto p = domain::decode_page_cursor(l, text);
    if (!p) continue;
    FUZZ_CHECK(!p->id.empty() && p->id.size() <= 64);
    FUZZ_CHECK(domain::encode_page_cursor(l, *p) == text);
  }
  return 0;
}

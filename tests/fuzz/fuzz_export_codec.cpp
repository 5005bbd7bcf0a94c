// The audit export's lines (infra/json/export_codec, read by the offline verifier without a
// general JSON parser): header, event and checkpoint lines, hex digests and uuid text. A line
// that parses re-formats to a line that parses to the same thing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "infra/json/export_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keyledger;
  const auto line = fuzz::as_text(data, size);
  (void)infra::kind_of_export_line(line);

  if (const auto e = infra::parse_export_event_line(line)) {
    const std::string once = infra::format_export_event_line(*e);
    const auto again = infra::parse_export_event_line(once);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(infra::format_export_event_line(*again) == once);
    FUZZ_CHECK(infra::kind_of_export_line(once) == infra::export_line_kind::event);
  }
  if (const auto h = infra::parse_export_header(line)) {
    const std::string once = infra::format_export_header(*h);
    const auto again = infra::parse_export_header(once);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(infra::format_export_header(*again) == once);
  }
  if (const auto c = infra::parse_export_checkpoint_line(line)) {
    const std::string once = infra::format_export_checkpoint_line(c->tree_size, c->note);
    const auto again = infra::parse_export_checkpoint_line(once);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->tree_size == c->tree_size && again->note == c->note);
  }
  if (const auto d = infra::parse_hex_digest(line)) FUZZ_CHECK(line.size() == 64);
  if (const auto u = infra::parse_uuid_text(line)) FUZZ_CHECK(infra::format_uuid_text(*u) == line);
  return 0;
}

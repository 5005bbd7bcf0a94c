// application/x-www-form-urlencoded: services/http/oauth parse_oauth_form (the OAuth token,
// introspection and revocation bodies and the authorization query) and the router's parse_form
// (every query string). A form that parses holds only the fields it reports, each once, with
// a non-empty value free of control characters; re-encoding it with percent_encode parses back
// to the same fields.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "services/http/oauth/oauth_form.hpp"
#include "services/http/router/form.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace keyledger::services::http;

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = keyledger::fuzz::as_text(data, size);

  if (auto form = parse_oauth_form(text); form) {
    const auto& f = form.value();
    FUZZ_CHECK(f.fields.size() <= 32);
    std::string encoded;
    for (std::size_t i = 0; i < f.fields.size(); ++i) {
      const auto& [name, value] = f.fields[i];
      FUZZ_CHECK(!value.empty() && !has_control(name) && !has_control(value));
      for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(f.fields[j].first != name);
      FUZZ_CHECK(f.get(name) == value);
      if (!encoded.empty()) encoded += '&';
      encoded += percent_encode(name) + "=" + percent_encode(value);
    }
    for (const auto& d : f.duplicated) FUZZ_CHECK(f.get(d).has_value());
    auto again = parse_oauth_form(encoded);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value().fields == f.fields);
    FUZZ_CHECK(again.value().duplicated.empty());
  }

  if (auto decoded = percent_decode(text))
    FUZZ_CHECK(percent_decode(percent_encode(*decoded)) == *decoded);

  static constexpr std::string_view known[] = {"limit", "cursor", "status", "environment", "q"};
  if (auto fields = parse_form(text, known, form_source::query); fields) {
    for (const auto& [name, value] : fields.value()) {
      FUZZ_CHECK(std::find(std::begin(known), std::end(known), name) != std::end(known));
      FUZZ_CHECK(!has_control(value));
    }
  }
  return 0;
}

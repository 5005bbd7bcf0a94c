// infra::json_body, the one parser entry for untrusted JSON (request bodies, JOSE headers, a
// partner's batch): whatever parses re-serialises (to_json) to text that parses again to the
// same text; getters of every type on the fields the API reads never throw or crash.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "infra/json/json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using keyledger::infra::json_body;

// Field names the endpoints read (docs/api.md), and one that is rarely present.
constexpr std::string_view fields[] = {"name",       "scopes",        "key",      "enabled",
                                       "rate_limit", "allowed_cidrs", "email",    "password",
                                       "role",       "expires_at",    "metadata", "required_scopes",
                                       "ip",         "environment",   "url",      "events",
                                       "token",      "type",          "a",        "redirect_uris"};

void exercise(const json_body& body, int depth) {
  for (auto f : fields) {
    (void)body.get_string(f);
    (void)body.get_string_array(f);
    (void)body.get_bool(f);
    (void)body.get_int(f);
    (void)body.is_null(f);
    if (depth < 2) {
      if (auto o = body.get_object(f); o && o.value()) exercise(*o.value(), depth + 1);
      if (auto a = body.get_object_array(f); a && a.value()) {
        for (const auto& e : *a.value()) exercise(e, depth + 1);
      }
    }
  }
  (void)body.first_unknown_field({"name", "scopes", "enabled"});
  // The compact text is valid JSON by construction and a fixed point.
  const std::string compact = body.to_json();
  auto again = json_body::parse(compact, keyledger::infra::response_json_limits);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value().to_json() == compact);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = keyledger::fuzz::as_text(data, size);
  if (auto body = json_body::parse(text); body) exercise(body.value(), 0);
  if (auto batch = json_body::parse_object_array(text); batch) {
    for (const auto& e : batch.value()) exercise(e, 1);
  }
  return 0;
}

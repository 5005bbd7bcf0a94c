#pragma once

#include <string>
#include <string_view>

namespace keyledger::infra {

/// Appends `text` to `out` as a JSON string (quotes included), escaped per RFC 8259: '"', '\\'
/// and control characters are escaped, U+2028/U+2029 too (they end lines in JavaScript), and
/// any byte sequence that is not well-formed UTF-8 (RFC 3629) becomes U+FFFD, so the output is
/// valid JSON whatever the input. Used by the log and by infra::json_writer alike.
void append_json_string(std::string& out, std::string_view text);

}  // namespace keyledger::infra

#pragma once

// application/x-www-form-urlencoded: the query string of every route, and (for OAuth's token,
// revocation and introspection endpoints and the consent form) request bodies.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/problem.hpp"
#include "domain/result.hpp"

namespace keyledger::services::http {

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Decodes one name or value ('+' is a space, %XX a byte); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s);

/// What a form is, for the messages of its problems.
enum class form_source { query, body };

/// Parses `text` into its fields, in order. Refused (400 problems): a bad escape, a name not
/// in `known`, a name given twice, a value with control characters, more than `max_fields`.
/// Empty parts ("a=1&&b=2") are skipped; a part without '=' has the empty value.
domain::result<form_fields, domain::problem> parse_form(std::string_view text,
                                                        std::span<const std::string_view> known,
                                                        form_source source,
                                                        std::size_t max_fields = 16);

}  // namespace keyledger::services::http

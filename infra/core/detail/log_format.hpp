#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/log.hpp"

namespace keyledger::infra::detail {

/// Longest field value (in input bytes) written to a log line; longer values are cut and end
/// with "...". Keeps one runaway value from producing a megabyte line.
inline constexpr std::size_t max_log_value_bytes = 8192;

/// "debug", "info", "warn", "error".
std::string_view to_string(log_level level) noexcept;

/// Accepts exactly the names to_string gives.
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

/// One log line, newline included: {"ts":..,"level":..,"event":..,<fields as strings>}.
std::string format_log_line(std::string_view ts, log_level level, std::string_view event,
                            std::initializer_list<log_field> fields);

}  // namespace keyledger::infra::detail

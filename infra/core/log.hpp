#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

namespace keyledger::infra {

enum class log_level { debug, info, warn, error };

using log_field = std::pair<std::string_view, std::string_view>;

/// Writes one JSON line to stderr: {"ts":..,"level":..,"event":..,<fields>}. Thread-safe; lines
/// are never torn or reordered. Debug and info lines are handed to a writer thread that writes
/// them in batches (at most 5 ms later; lost only if the process is killed in between); warn and
/// error lines are on stderr when log() returns. Callers never pass a secret (keys, hashes,
/// Authorization headers).
void log(log_level level, std::string_view event, std::initializer_list<log_field> fields = {});

/// Writes every line logged so far (tests reading stderr; exit() does it too).
void flush_log() noexcept;

/// True if a line at `level` would be written (to skip building fields on hot paths).
bool log_enabled(log_level level) noexcept;

/// Lines below `level` are dropped. Default info; KEYLEDGER_LOG_LEVEL sets it.
void set_log_level(log_level level) noexcept;

}  // namespace keyledger::infra

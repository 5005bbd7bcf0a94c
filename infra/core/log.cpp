#include "infra/core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "domain/types.hpp"
#include "infra/core/detail/log_format.hpp"
#include "infra/core/json_escape.hpp"

namespace keyledger::infra {

namespace detail {

namespace {

void append_value(std::string& out, std::string_view value) {
  if (value.size() <= max_log_value_bytes) {
    append_json_string(out, value);
    return;
  }
  // Cut on a character boundary so the kept part stays readable.
  std::size_t cut = max_log_value_bytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  std::string shortened(value.substr(0, cut));
  shortened += "...";
  append_json_string(out, shortened);
}

}  // namespace


std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "error";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (const auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error}) {
    if (text == to_string(level)) return level;
  }
  return std::nullopt;
}

std::string format_log_line(std::string_view ts, log_level level, std::string_view event,
                            std::initializer_list<log_field> fields) {
  std::string line;
  line.reserve(64 + event.size() + fields.size() * 32);
  line += "{\"ts\":";
  append_json_string(line, ts);
  line += ",\"level\":";
  append_json_string(line, to_string(level));
  line += ",\"event\":";
  append_json_string(line, event);
  for (const auto& [name, value] : fields) {
    line.push_back(',');
    append_json_string(line, name);
    line.push_back(':');
    append_value(line, value);
  }
  line += "}\n";
  return line;
}

}  // namespace detail

namespace {

// Serialises writers so a line split by a partial write is never interleaved with another.
std::mutex& write_mutex() {
  static std::mutex m;
  return m;
}

void write_line(std::string_view line) noexcept {
  std::lock_guard lock(write_mutex());
  while (!line.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; there is nowhere left to report that
    }
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string now_text() {
  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  return domain::format_timestamp(domain::timestamp{now.time_since_epoch()});
}

int initial_threshold() noexcept {
  const char* env = std::getenv("KEYLEDGER_LOG_LEVEL");
  if (env == nullptr || *env == '\0') return static_cast<int>(log_level::info);
  if (const auto parsed = detail::parse_log_level(env)) return static_cast<int>(*parsed);
  try {
    // Written directly: log() would re-enter the initialisation of threshold().
    write_line(detail::format_log_line(
        now_text(), log_level::warn, "log_level_invalid",
        {{"variable", "KEYLEDGER_LOG_LEVEL"}, {"expected", "debug|info|warn|error"}}));
  } catch (...) {
    // Out of memory at start-up: the warning is lost, the default still applies.
  }
  return static_cast<int>(log_level::info);
}

std::atomic<int>& threshold() noexcept {
  // Read once, at first use; set_log_level overrides it afterwards.
  static std::atomic<int> level{initial_threshold()};
  return level;
}

}  // namespace

void log(log_level level, std::string_view event, std::initializer_list<log_field> fields) {
  try {
    if (static_cast<int>(level) < threshold().load(std::memory_order_relaxed)) return;
    write_line(detail::format_log_line(now_text(), level, event, fields));
  } catch (...) {
    // Logging must never take down its caller (it runs inside catch blocks); on allocation
    // failure the line is dropped.
  }
}

bool log_enabled(log_level level) noexcept {
  return static_cast<int>(level) >= threshold().load(std::memory_order_relaxed);
}

void set_log_level(log_level level) noexcept {
  threshold().store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace keyledger::infra

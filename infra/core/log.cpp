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

namespace keyledger::infra {

namespace detail {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_unicode_escape(std::string& out, unsigned code) {
  out += "\\u";
  out.push_back(hex_digits[(code >> 12) & 0xF]);
  out.push_back(hex_digits[(code >> 8) & 0xF]);
  out.push_back(hex_digits[(code >> 4) & 0xF]);
  out.push_back(hex_digits[code & 0xF]);
}

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const auto continuation = [&](std::size_t k) {
    return k < text.size() && (byte(k) & 0xC0) == 0x80;
  };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
    if (b0 == 0xED && b1 > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && b1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

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

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      append_unicode_escape(out, c);
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      // Not UTF-8: one replacement character per bad byte keeps the line valid JSON.
      out += "\\ufffd";
      ++i;
      continue;
    }
    // U+2028 and U+2029 are legal JSON but end lines in JavaScript.
    if (n == 3 && c == 0xE2 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xA8) {
      append_unicode_escape(out, static_cast<unsigned char>(text[i + 2]) == 0xA8 ? 0x2028 : 0x2029);
      i += 3;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  out.push_back('"');
}

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

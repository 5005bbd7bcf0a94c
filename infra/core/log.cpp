#include "infra/core/log.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

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

/// Writes all of `text` to fd 2, retrying short writes; a vanished stderr drops the rest.
void write_all(std::string_view text) noexcept {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; there is nowhere left to report that
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Lines are appended to a buffer and written by one writer thread, at most batch_delay (5 ms)
/// after the first of a batch, many lines per write(2):
/// a busy server no longer pays a system call per access-log line on its I/O threads. Order is
/// kept (one buffer, drained under `write_mutex` before it is swapped). Warnings and errors,
/// and every line of a forked child, are written before log() returns. A caller waits only
/// when `max_pending` bytes are already waiting (stderr slower than the logging: the old
/// back-pressure). flush_log(), and exit(), write what is waiting.
class line_writer {
 public:
  static line_writer& instance() {
    // Never destroyed: other threads and static destructors may log until the process ends.
    static line_writer* const writer = new line_writer;
    return *writer;
  }

  void append(std::string_view line, bool now) {
    {
      std::unique_lock lock(mutex_);
      if (!threaded_) now = true;
      drained_.wait(lock, [&] { return pending_.size() < max_pending; });
      const bool was_small = pending_.size() < flush_bytes;
      pending_.append(line);
      if (!now) {
        if (writer_idle_) {
          writer_idle_ = false;
          wake_.notify_one();
        } else if (was_small && pending_.size() >= flush_bytes) {
          wake_.notify_one();  // enough for one write: the writer need not wait out its delay
        }
        return;
      }
    }
    flush();
  }

  /// Everything appended before the call is on fd 2 when it returns.
  void flush() noexcept {
    std::lock_guard writing(write_mutex_);
    std::string batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(pending_);
      drained_.notify_all();
    }
    write_all(batch);
  }

 private:
  static constexpr std::size_t max_pending = 1 << 20;
  static constexpr std::size_t flush_bytes = 64 << 10;
  static constexpr std::chrono::milliseconds batch_delay{5};

  line_writer() {
    std::atexit([] { instance().flush(); });
    // A forked child has no writer thread: it writes each line itself.
    ::pthread_atfork(nullptr, nullptr, [] { instance().threaded_ = false; });
    try {
      std::thread([this] { run(); }).detach();
      threaded_ = true;
    } catch (...) {
      threaded_ = false;  // no thread to be had: every line is written by its caller
    }
  }

  [[noreturn]] void run() noexcept {
    std::string batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        // Idle on every wait, not only the first: a flush() may empty the buffer between the
        // wake-up and this check, and a writer left marked busy would never be woken again.
        while (pending_.empty()) {
          writer_idle_ = true;
          wake_.wait(lock);
        }
        writer_idle_ = false;
        // Gather for a moment: one write(2) for the lines of batch_delay, and one wake-up of
        // this thread per batch at most (on a busy core, a wake-up per line cost more than
        // the write it saved). Producers do not signal meanwhile, unless flush_bytes wait.
        wake_.wait_for(lock, batch_delay, [&] { return pending_.size() >= flush_bytes; });
      }
      std::lock_guard writing(write_mutex_);
      {
        std::lock_guard lock(mutex_);
        batch.swap(pending_);
        drained_.notify_all();
      }
      write_all(batch);
      batch.clear();
      if (batch.capacity() > max_pending) batch.shrink_to_fit();
    }
  }

  std::mutex write_mutex_;  // held while a batch is taken and written: batches stay in order
  std::mutex mutex_;        // guards the fields below
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::string pending_;
  bool writer_idle_ = false;
  bool threaded_ = false;
};

void write_line(std::string_view line, bool now = true) {
  line_writer::instance().append(line, now);
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
    write_line(detail::format_log_line(now_text(), level, event, fields), level >= log_level::warn);
  } catch (...) {
    // Logging must never take down its caller (it runs inside catch blocks); on allocation
    // failure the line is dropped.
  }
}

void flush_log() noexcept { line_writer::instance().flush(); }

bool log_enabled(log_level level) noexcept {
  return static_cast<int>(level) >= threshold().load(std::memory_order_relaxed);
}

void set_log_level(log_level level) noexcept {
  threshold().store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace keyledger::infra

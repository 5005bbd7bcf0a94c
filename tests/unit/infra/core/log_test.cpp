#include "infra/core/log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "domain/types.hpp"
#include "infra/core/detail/log_format.hpp"
#include "infra/core/json_escape.hpp"
#include "stderr_capture.hpp"

namespace keyledger::infra {
namespace {

using namespace std::string_literals;

std::string escaped(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// ---- an independent checker: decodes a JSON string literal strictly (RFC 8259) -------------

// Length of a well-formed UTF-8 sequence at s[i] (RFC 3629), decoded by code point; 0 if none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t lead = b(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    n = 2;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    n = 3;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    n = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// The decoded bytes, or nullopt if `json` is not exactly one valid JSON string.
std::optional<std::string> decode_json_string(std::string_view json) {
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') return std::nullopt;
  const std::string_view s = json.substr(1, json.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<std::uint8_t>(s[i]);
    if (c == '"' || c < 0x20) return std::nullopt;
    if (c == '\\') {
      if (i + 1 >= s.size()) return std::nullopt;
      const char e = s[i + 1];
      const std::string_view simple = "\"\\/bfnrt";
      const std::string_view meaning = "\"\\/\b\f\n\r\t";
      if (const auto at = simple.find(e); at != std::string_view::npos) {
        out.push_back(meaning[at]);
        i += 2;
        continue;
      }
      if (e != 'u' || i + 6 > s.size()) return std::nullopt;
      std::uint32_t cp = 0;
      for (std::size_t k = i + 2; k < i + 6; ++k) {
        const char h = s[k];
        cp <<= 4;
        if (h >= '0' && h <= '9') {
          cp |= static_cast<std::uint32_t>(h - '0');
        } else if (h >= 'a' && h <= 'f') {
          cp |= static_cast<std::uint32_t>(h - 'a' + 10);
        } else if (h >= 'A' && h <= 'F') {
          cp |= static_cast<std::uint32_t>(h - 'A' + 10);
        } else {
          return std::nullopt;
        }
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) return std::nullopt;  // never emitted alone
      append_utf8(out, cp);
      i += 6;
      continue;
    }
    const std::size_t n = utf8_length(s, i);
    if (n == 0) return std::nullopt;
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

// ---- escaping ------------------------------------------------------------------------------

TEST(json_escape, given_plain_text_then_only_quoted) {
  EXPECT_EQ(escaped(""), R"("")");
  EXPECT_EQ(escaped("key_created"), R"("key_created")");
  EXPECT_EQ(escaped("a b/c~\x7f"), "\"a b/c~\x7f\"");
}

TEST(json_escape, given_quotes_backslashes_and_controls_then_escaped_per_rfc8259) {
  EXPECT_EQ(escaped("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(escaped("C:\\path"), R"("C:\\path")");
  EXPECT_EQ(escaped("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(escaped("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(escaped("a\0b"s), R"("a\u0000b")");
  // A forged second line or field cannot break out of the string
  EXPECT_EQ(escaped("x\"}\n{\"level\":\"error"), R"("x\"}\n{\"level\":\"error")");
}

TEST(json_escape, given_valid_utf8_then_kept_verbatim_except_js_line_separators) {
  EXPECT_EQ(escaped("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"),
            "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\"");
  EXPECT_EQ(escaped("a\xe2\x80\xa8z\xe2\x80\xa9"), R"("a\u2028z\u2029")");
}

TEST(json_escape, given_malformed_utf8_then_each_bad_byte_becomes_u_fffd) {
  EXPECT_EQ(escaped("\x80"), R"("\ufffd")");
  EXPECT_EQ(escaped("a\xffz"), R"("a\ufffdz")");
  EXPECT_EQ(escaped("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong '/'
  EXPECT_EQ(escaped("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");            // overlong
  EXPECT_EQ(escaped("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // surrogate U+D800
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
  EXPECT_EQ(escaped("\xe2\x82"), R"("\ufffd\ufffd")");                      // truncated at the end
  EXPECT_EQ(escaped("\xe2\x82z"), R"("\ufffd\ufffdz")");                    // truncated mid-text
}

TEST(json_escape, given_random_bytes_then_always_one_valid_json_string) {
  // Given deterministic random byte strings, biased towards the interesting ranges
  std::uint64_t state = 0x1234567;
  const auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string input(next() % 24, '\0');
    for (auto& ch : input) {
      const std::uint64_t r = next();
      switch (r % 4) {
        case 0:
          ch = static_cast<char>(r >> 8);  // any byte
          break;
        case 1:
          ch = static_cast<char>(0x80 | ((r >> 8) & 0x3F));  // continuation
          break;
        case 2:
          ch = "\"\\\n\x01\xe2\xc3\xf0\xed"[(r >> 8) % 9];
          break;
        default:
          ch = static_cast<char>('a' + (r >> 8) % 26);
      }
    }
    // When escaped, then it decodes as exactly one JSON string
    const auto decoded = decode_json_string(escaped(input));
    ASSERT_TRUE(decoded.has_value()) << escaped(input);
    // And input that was valid UTF-8 survives unchanged
    bool valid = true;
    for (std::size_t i = 0; i < input.size() && valid;) {
      const std::size_t n = utf8_length(input, i);
      valid = n != 0;
      i += n;
    }
    if (valid) {
      EXPECT_EQ(*decoded, input);
    }
  }
}

// ---- lines ---------------------------------------------------------------------------------

TEST(log_line, given_an_event_and_fields_then_one_json_object_line) {
  const std::string line =
      detail::format_log_line("2026-11-23T19:36:02.123456Z", log_level::info, "key_created",
                              {{"key_id", "key_1"}, {"note", "a \"quoted\"\nvalue"}});
  EXPECT_EQ(line,
            "{\"ts\":\"2026-11-23T19:36:02.123456Z\",\"level\":\"info\",\"event\":\"key_created\","
            "\"key_id\":\"key_1\",\"note\":\"a \\\"quoted\\\"\\nvalue\"}\n");
}

TEST(log_line, given_each_level_then_its_name) {
  for (const auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error}) {
    const std::string line = detail::format_log_line("t", level, "e", {});
    EXPECT_NE(line.find("\"level\":\"" + std::string(detail::to_string(level)) + "\""),
              std::string::npos);
    EXPECT_EQ(detail::parse_log_level(detail::to_string(level)), level);
  }
  EXPECT_EQ(detail::to_string(log_level::warn), "warn");
  for (const std::string_view bad : {"", "INFO", "warning", "trace", "info "}) {
    EXPECT_FALSE(detail::parse_log_level(bad).has_value()) << bad;
  }
}

TEST(log_line, given_a_huge_value_then_cut_to_the_cap) {
  const std::string huge(100000, 'a');
  const std::string line = detail::format_log_line("t", log_level::info, "e", {{"v", huge}});
  EXPECT_LT(line.size(), detail::max_log_value_bytes + 200);
  EXPECT_NE(line.find(std::string(detail::max_log_value_bytes, 'a') + "...\"}"), std::string::npos);
  // A cut never splits a character into replacement noise
  std::string euros;
  while (euros.size() < detail::max_log_value_bytes + 10) euros += "\xe2\x82\xac";
  const std::string cut = detail::format_log_line("t", log_level::info, "e", {{"v", euros}});
  EXPECT_EQ(cut.find("\\ufffd"), std::string::npos);
}

// ---- log() ---------------------------------------------------------------------------------

/// Splits captured output into lines, checking each ends with '\n'.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    EXPECT_NE(end, std::string::npos) << "unterminated line";
    if (end == std::string::npos) break;
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

TEST(log, given_an_event_then_one_line_on_stderr_with_a_parseable_timestamp) {
  set_log_level(log_level::info);
  testing::stderr_capture capture;
  log(log_level::info, "key_created", {{"key_id", "key_1"}, {"ip", "192.0.2.1"}});
  capture.restore();
  const auto lines = lines_of(capture.text());
  ASSERT_EQ(lines.size(), 1u);
  const std::string& line = lines[0];
  ASSERT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  const std::string ts = line.substr(7, line.find('"', 7) - 7);
  EXPECT_TRUE(domain::parse_timestamp(ts).has_value()) << ts;
  EXPECT_EQ(ts.size(), 27u) << ts;
  EXPECT_NE(line.find(R"("level":"info","event":"key_created","key_id":"key_1","ip":"192.0.2.1"})"),
            std::string::npos)
      << line;
}

TEST(log, given_a_level_threshold_then_lines_below_it_are_dropped) {
  set_log_level(log_level::warn);
  testing::stderr_capture capture;
  log(log_level::debug, "dropped_debug");
  log(log_level::info, "dropped_info");
  log(log_level::warn, "kept_warn");
  log(log_level::error, "kept_error");
  set_log_level(log_level::debug);
  log(log_level::debug, "kept_debug");
  set_log_level(log_level::info);
  capture.restore();
  const std::string text = capture.text();
  EXPECT_EQ(lines_of(text).size(), 3u) << text;
  EXPECT_EQ(text.find("dropped"), std::string::npos) << text;
  EXPECT_NE(text.find("kept_warn"), std::string::npos);
  EXPECT_NE(text.find("kept_error"), std::string::npos);
  EXPECT_NE(text.find("kept_debug"), std::string::npos);
}

TEST(log, given_many_threads_logging_then_no_line_is_torn_or_lost) {
  set_log_level(log_level::info);
  testing::stderr_capture capture;
  const std::string payload(3000, 'p');  // larger than PIPE_BUF would be
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        log(log_level::info, "burst", {{"thread", std::to_string(t)}, {"payload", payload}});
      }
    });
  }
  for (auto& th : threads) th.join();
  capture.restore();
  const auto lines = lines_of(capture.text());
  ASSERT_EQ(lines.size(), 800u);
  for (const auto& line : lines) {
    ASSERT_EQ(line.front(), '{');
    ASSERT_EQ(line.back(), '}');
    ASSERT_NE(line.find("\"payload\":\"" + payload + "\"}"), std::string::npos);
  }
}

TEST(log, given_a_warning_or_an_error_then_it_is_on_stderr_when_log_returns) {
  set_log_level(log_level::info);
  testing::stderr_capture capture;
  log(log_level::warn, "urgent_warn");
  EXPECT_NE(capture.written().find("urgent_warn"), std::string::npos);
  log(log_level::error, "urgent_error");
  EXPECT_NE(capture.written().find("urgent_error"), std::string::npos);
}

TEST(log, given_info_lines_then_the_writer_thread_writes_them_in_order_without_a_flush) {
  set_log_level(log_level::info);
  testing::stderr_capture capture;
  // An error right after an info line writes both itself, often before the writer thread runs:
  // the writer must still wake for the lines after (it once stayed asleep for good).
  log(log_level::info, "woke_the_writer");
  log(log_level::error, "took_its_batch");
  for (int i = 0; i < 50; ++i) log(log_level::info, "batched", {{"n", std::to_string(i)}});
  // No flush_log(): the writer thread must get there by itself.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string text;
  while (std::chrono::steady_clock::now() < deadline) {
    text = capture.written();
    if (text.find("\"n\":\"49\"") != std::string::npos) break;
    std::this_thread::yield();
  }
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 52u) << text;
  for (int i = 0; i < 50; ++i) {
    EXPECT_NE(lines[static_cast<std::size_t>(i) + 2].find("\"n\":\"" + std::to_string(i) + "\""),
              std::string::npos)
        << lines[static_cast<std::size_t>(i) + 2];
  }
}

TEST(log, given_an_info_line_and_then_an_error_then_both_are_written_in_that_order) {
  set_log_level(log_level::info);
  testing::stderr_capture capture;
  log(log_level::info, "first_info");
  log(log_level::error, "then_error");
  const std::string text = capture.written();  // the error wrote what was waiting before it
  const auto info = text.find("first_info");
  ASSERT_NE(info, std::string::npos) << text;
  EXPECT_LT(info, text.find("then_error"));
}

// KEYLEDGER_LOG_LEVEL is read once, at first use: check it in a fresh process (a death test
// re-executes the binary), which reports through its exit code.
class log_env : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

[[noreturn]] void run_with_level(const char* value) {
  ::setenv("KEYLEDGER_LOG_LEVEL", value, 1);
  testing::stderr_capture capture;
  log(log_level::debug, "seen_debug");
  log(log_level::info, "seen_info");
  log(log_level::warn, "seen_warn");
  log(log_level::error, "seen_error");
  capture.restore();
  const std::string text = capture.text();
  int mask = 0;
  for (const auto& [bit, event] :
       {std::pair{1, "seen_debug"}, std::pair{2, "seen_info"}, std::pair{4, "seen_warn"},
        std::pair{8, "seen_error"}, std::pair{16, "log_level_invalid"}}) {
    if (text.find(event) != std::string::npos) mask |= bit;
  }
  std::_Exit(mask);
}

TEST_F(log_env, given_debug_then_everything_is_written) {
  EXPECT_EXIT(run_with_level("debug"), ::testing::ExitedWithCode(1 | 2 | 4 | 8), "");
}

TEST_F(log_env, given_error_then_only_errors_are_written) {
  EXPECT_EXIT(run_with_level("error"), ::testing::ExitedWithCode(8), "");
}

TEST_F(log_env, given_an_unknown_value_then_info_and_a_warning) {
  EXPECT_EXIT(run_with_level("LOUD"), ::testing::ExitedWithCode(16 | 2 | 4 | 8), "");
}

}  // namespace
}  // namespace keyledger::infra

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "infra/json/json.hpp"

namespace keyledger::infra {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  // 24 bytes hold any 64-bit integer, so to_chars cannot fail here.
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  // Copy runs of bytes that need no escape in one append; UTF-8 sequences pass through as is.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* short_escape = nullptr;
    std::size_t consumed = 1;
    char unicode_escape[7] = {};
    switch (c) {
      case '"':
        short_escape = "\\\"";
        break;
      case '\\':
        short_escape = "\\\\";
        break;
      case '\b':
        short_escape = "\\b";
        break;
      case '\f':
        short_escape = "\\f";
        break;
      case '\n':
        short_escape = "\\n";
        break;
      case '\r':
        short_escape = "\\r";
        break;
      case '\t':
        short_escape = "\\t";
        break;
      default:
        if (c < 0x20) {
          unicode_escape[0] = '\\';
          unicode_escape[1] = 'u';
          unicode_escape[2] = '0';
          unicode_escape[3] = '0';
          unicode_escape[4] = hex_digits[c >> 4];
          unicode_escape[5] = hex_digits[c & 0x0f];
          short_escape = unicode_escape;
        } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
          // U+2028/U+2029 are valid in JSON but end a line in JavaScript: escaped so the output
          // can be embedded in a script safely.
          short_escape = static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
          consumed = 3;
        }
        break;
    }
    if (short_escape == nullptr) continue;
    out.append(s.data() + run, i - run);
    out.append(short_escape);
    i += consumed - 1;
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void json_writer::separate() {
  if (after_key_) {
    // A value directly follows its key.
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_.push_back(',');
  first_.back() = false;
}

json_writer& json_writer::begin_object() {
  separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_object() {
  out_.push_back('}');
  if (!first_.empty()) first_.pop_back();
  after_key_ = false;
  return *this;
}

json_writer& json_writer::begin_array() {
  separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_array() {
  out_.push_back(']');
  if (!first_.empty()) first_.pop_back();
  after_key_ = false;
  return *this;
}

json_writer& json_writer::key(std::string_view k) {
  separate();
  append_json_string(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

json_writer& json_writer::string(std::string_view v) {
  separate();
  append_json_string(out_, v);
  return *this;
}

json_writer& json_writer::number(std::int64_t v) {
  separate();
  append_integer(out_, v);
  return *this;
}

json_writer& json_writer::number(std::uint64_t v) {
  separate();
  append_integer(out_, v);
  return *this;
}

json_writer& json_writer::boolean(bool v) {
  separate();
  out_.append(v ? "true" : "false");
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_.append("null");
  return *this;
}

}  // namespace keyledger::infra

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "domain/types.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {

namespace {

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  // 24 bytes hold any 64-bit integer, so to_chars cannot fail here.
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace

void json_writer::separate() {
  if (after_key_) {
    // A value directly follows its key.
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const std::size_t level = depth_ - 1;
  if (level < 64) {
    const std::uint64_t bit = std::uint64_t{1} << level;
    if ((first_bits_ & bit) == 0) out_.push_back(',');
    first_bits_ &= ~bit;
  } else {
    if (!deeper_.back()) out_.push_back(',');
    deeper_.back() = false;
  }
}

void json_writer::open_container() {
  if (depth_ < 64) {
    first_bits_ |= std::uint64_t{1} << depth_;
  } else {
    deeper_.push_back(true);
  }
  ++depth_;
}

void json_writer::close_container() {
  if (depth_ == 0) return;
  --depth_;
  if (depth_ >= 64) deeper_.pop_back();
  after_key_ = false;
}

json_writer& json_writer::begin_object() {
  separate();
  out_.push_back('{');
  open_container();
  return *this;
}

json_writer& json_writer::end_object() {
  out_.push_back('}');
  close_container();
  return *this;
}

json_writer& json_writer::begin_array() {
  separate();
  out_.push_back('[');
  open_container();
  return *this;
}

json_writer& json_writer::end_array() {
  out_.push_back(']');
  close_container();
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

json_writer& json_writer::value(const json_body& v) {
  separate();
  out_.append(v.to_json());
  return *this;
}

json_writer& json_writer::timestamp(domain::timestamp t) {
  separate();
  // RFC 3339 text is digits and -:.TZ: nothing to escape.
  out_.push_back('"');
  domain::append_timestamp(out_, t);
  out_.push_back('"');
  return *this;
}

void write_timestamp(json_writer& w, std::string_view name, domain::timestamp t) {
  w.key(name).timestamp(t);
}

void write_timestamp_or_null(json_writer& w, std::string_view name,
                             const std::optional<domain::timestamp>& t) {
  w.key(name);
  if (t) {
    w.timestamp(*t);
  } else {
    w.null();
  }
}

void write_string_array(json_writer& w, std::string_view name,
                        const std::vector<std::string>& values) {
  w.key(name).begin_array();
  for (const auto& v : values) w.string(v);
  w.end_array();
}

// "" (none) is written as null: an auditor reading the log sees "no URL", not an empty one.
void write_string_or_null(json_writer& w, std::string_view name, const std::string& value) {
  if (value.empty()) {
    w.key(name).null();
  } else {
    w.field(name, value);
  }
}

}  // namespace keyledger::infra

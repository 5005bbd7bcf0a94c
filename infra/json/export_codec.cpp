// Event lines of an export: the stored row, exact bytes, as one JSON object per line.
#include "infra/json/export_codec.hpp"

#include <cstdint>
#include <utility>

#include "domain/encoding.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

// An export line holds a stored row: its payload can be far larger than a request body's
// strings, and lines of other kinds (checkpoints, headers) must still be read to be skipped.
constexpr json_limits export_line_limits{
    .max_depth = 32,
    .max_string = 16 * 1024 * 1024,
    .max_array = 1 << 20,
    .max_members = 4096,
    .max_bytes = 64 * 1024 * 1024,
};

constexpr char hex_digits[] = "0123456789abcdef";

std::string hex_of(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += hex_digits[b >> 4];
    out += hex_digits[b & 0x0f];
  }
  return out;
}

// 8-4-4-4-12 hex digits (PostgreSQL's uuid text), either case.
bool parse_uuid(std::string_view text, uuid& out) {
  if (text.size() != 36) return false;
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = domain::hex_value(text[i]);
    const int lo = domain::hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[n++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return n == out.size();
}

std::string format_uuid(const uuid& id) {
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex_digits[id[i] >> 4];
    out += hex_digits[id[i] & 0x0f];
  }
  return out;
}

// 64 lowercase hex digits, as the store and format_export_event_line write a hash.
bool parse_hash(std::string_view text, sha256_digest& out) {
  if (text.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char a = text[2 * i];
    const char b = text[2 * i + 1];
    const int hi = domain::hex_value(a);
    const int lo = domain::hex_value(b);
    if (hi < 0 || lo < 0 || domain::is_ascii_upper(a) || domain::is_ascii_upper(b)) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

export_line malformed(std::string problem) {
  export_line out;
  out.what = export_line::kind::malformed;
  out.problem = std::move(problem);
  return out;
}

// Reads a required member with one of json_body's getters; false (and `problem`) when it is
// absent or of another type.
template <class T, class Get>
bool required(const json_body& o, std::string_view name, Get get, T& out, std::string& problem) {
  auto v = (o.*get)(name);
  if (!v) {
    problem = v.error().message;
    return false;
  }
  if (!v.value()) {
    problem = "member 'event." + std::string(name) + "' is missing";
    return false;
  }
  out = std::move(*v.value());
  return true;
}

}  // namespace

export_line read_export_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return {};
  auto doc = json_body::parse(line, export_line_limits);
  if (!doc) return malformed("not one JSON object: " + doc.error().message);
  auto event = doc->get_object("event");
  if (!event) return malformed(event.error().message);
  if (!event.value()) return {};  // another kind of line
  if (doc->first_unknown_field({"event"})) {
    return malformed("an event line has a member besides 'event'");
  }
  const json_body& o = *event.value();
  if (auto unknown =
          o.first_unknown_field({"global_seq", "stream_id", "version", "event_id", "type",
                                 "payload", "metadata", "recorded_at_us", "hash"})) {
    return malformed("unknown member 'event." + *unknown + "'");
  }
  export_line out;
  out.what = export_line::kind::event;
  recorded_event& e = out.event;
  std::string problem;
  std::int64_t seq = 0;
  std::int64_t version = 0;
  std::string event_id;
  std::string hash;
  if (!required(o, "global_seq", &json_body::get_int, seq, problem) ||
      !required(o, "stream_id", &json_body::get_string, e.stream_id, problem) ||
      !required(o, "version", &json_body::get_int, version, problem) ||
      !required(o, "event_id", &json_body::get_string, event_id, problem) ||
      !required(o, "type", &json_body::get_string, e.type, problem) ||
      !required(o, "payload", &json_body::get_string, e.payload, problem) ||
      !required(o, "metadata", &json_body::get_string, e.metadata, problem) ||
      !required(o, "recorded_at_us", &json_body::get_int, e.recorded_at_us, problem) ||
      !required(o, "hash", &json_body::get_string, hash, problem)) {
    return malformed(std::move(problem));
  }
  if (seq < 1) return malformed("member 'event.global_seq' must be at least 1");
  if (version < 1) return malformed("member 'event.version' must be at least 1");
  if (e.stream_id.empty()) return malformed("member 'event.stream_id' is empty");
  if (e.type.empty()) return malformed("member 'event.type' is empty");
  if (!parse_uuid(event_id, e.event_id)) {
    return malformed("member 'event.event_id' must be a UUID (8-4-4-4-12 hex digits)");
  }
  if (!parse_hash(hash, e.hash)) {
    return malformed("member 'event.hash' must be 64 lowercase hex digits");
  }
  e.global_seq = static_cast<std::uint64_t>(seq);
  e.version = static_cast<std::uint64_t>(version);
  return out;
}

std::optional<recorded_event> parse_export_event_line(std::string_view line) {
  auto read = read_export_line(line);
  if (read.what != export_line::kind::event) return std::nullopt;
  return std::move(read.event);
}

std::string format_export_event_line(const recorded_event& e) {
  json_writer w;
  w.begin_object().key("event").begin_object();
  w.field("global_seq", e.global_seq)
      .field("stream_id", e.stream_id)
      .field("version", e.version)
      .field("event_id", format_uuid(e.event_id))
      .field("type", e.type)
      .field("payload", e.payload)
      .field("metadata", e.metadata)
      .field("recorded_at_us", e.recorded_at_us)
      .field("hash", hex_of(e.hash));
  w.end_object().end_object();
  return w.take();
}

}  // namespace keyledger::infra

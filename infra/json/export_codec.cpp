#include "infra/json/export_codec.hpp"

#include <charconv>
#include <span>

#include "domain/encoding.hpp"
#include "domain/text.hpp"
#include "infra/core/json_escape.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

/// A cursor over one line, for the fixed-order event line.
class line_reader {
 public:
  explicit line_reader(std::string_view s) : s_(s) {}

  bool literal(std::string_view lit) {
    if (!s_.substr(i_).starts_with(lit)) return false;
    i_ += lit.size();
    return true;
  }

  template <class T>
  bool integer(T& out) {
    const char* b = s_.data() + i_;
    const char* e = s_.data() + s_.size();
    if (b == e || (*b == '0' && b + 1 < e && b[1] >= '0' && b[1] <= '9')) return false;
    const auto [p, ec] = std::from_chars(b, e, out);
    if (ec != std::errc()) return false;
    i_ += static_cast<std::size_t>(p - b);
    return true;
  }

  /// A JSON string (RFC 8259), unescaped into `out`.
  bool string(std::string& out) {
    out.clear();
    if (!literal("\"")) return false;
    while (i_ < s_.size()) {
      // Copy the run up to the next quote or backslash at once.
      std::size_t j = i_;
      while (j < s_.size() && s_[j] != '"' && s_[j] != '\\') {
        const auto c = static_cast<unsigned char>(s_[j]);
        if (c < 0x20) return false;
        if (c < 0x80) {
          ++j;
          continue;
        }
        // JSON text is UTF-8 (RFC 8259 8.1): a malformed sequence is refused, as json_body
        // refuses it. Kept, it made a line no exporter writes (the writer turns such bytes
        // into U+FFFD), found by tests/fuzz export_codec.
        if (!domain::decode_utf8(s_, j)) return false;
      }
      out.append(s_.substr(i_, j - i_));
      i_ = j;
      if (i_ >= s_.size()) return false;
      if (s_[i_] == '"') {
        ++i_;
        return true;
      }
      if (++i_ >= s_.size()) return false;
      const char c = s_[i_++];
      switch (c) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (!literal("\\u") || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool at_end() const noexcept { return i_ == s_.size(); }

 private:
  bool hex4(std::uint32_t& out) {
    if (i_ + 4 > s_.size()) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const int v = domain::hex_value(s_[i_++]);
      if (v < 0) return false;
      out = out << 4 | static_cast<std::uint32_t>(v);
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

std::string lower_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

/// Lowercase hex only, of exactly out.size() bytes.
bool from_lower_hex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char a = hex[2 * i];
    const char b = hex[2 * i + 1];
    if ((a >= 'A' && a <= 'F') || (b >= 'A' && b <= 'F')) return false;
    const int hi = domain::hex_value(a);
    const int lo = domain::hex_value(b);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string hex_of(const sha256_digest& d) { return lower_hex(d); }

bool digest_of(std::string_view hex, sha256_digest& out) { return from_lower_hex(hex, out); }

/// The value of a member that is present with the right type, else null.
template <class T>
const T* present(const domain::result<std::optional<T>, json_error>& r) {
  return r && r.value() ? &*r.value() : nullptr;
}

json_limits export_limits() {
  json_limits l;
  l.max_depth = 4;
  l.max_string = 64 * 1024;
  l.max_array = 64;
  l.max_members = 16;
  l.max_bytes = 1024 * 1024;
  return l;
}

}  // namespace

std::optional<sha256_digest> parse_hex_digest(std::string_view hex) {
  sha256_digest d{};
  if (!digest_of(hex, d)) return std::nullopt;
  return d;
}

export_line_kind kind_of_export_line(std::string_view line) noexcept {
  if (line.starts_with(R"({"event":)")) return export_line_kind::event;
  if (line.starts_with(R"({"checkpoint":)")) return export_line_kind::checkpoint;
  if (line.starts_with(R"({"format":)")) return export_line_kind::header;
  return export_line_kind::other;
}

std::string format_uuid_text(const uuid& id) {
  std::string out = lower_hex(id);
  for (const std::size_t at : {8u, 13u, 18u, 23u}) out.insert(at, 1, '-');
  return out;
}

std::optional<uuid> parse_uuid_text(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return std::nullopt;
  }
  std::string hex;
  hex.reserve(32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i != 8 && i != 13 && i != 18 && i != 23) hex += text[i];
  }
  uuid id{};
  if (!from_lower_hex(hex, id)) return std::nullopt;
  return id;
}

std::string format_export_event_line(const recorded_event& e) {
  std::string out;
  out.reserve(200 + e.payload.size() + e.metadata.size());
  out += R"({"event":{"global_seq":)";
  out += std::to_string(e.global_seq);
  out += R"(,"stream_id":)";
  append_json_string(out, e.stream_id);
  out += R"(,"version":)";
  out += std::to_string(e.version);
  out += R"(,"event_id":")";
  out += format_uuid_text(e.event_id);
  out += R"(","type":)";
  append_json_string(out, e.type);
  out += R"(,"payload":)";
  append_json_string(out, e.payload);
  out += R"(,"metadata":)";
  append_json_string(out, e.metadata);
  out += R"(,"recorded_at_us":)";
  out += std::to_string(e.recorded_at_us);
  out += R"(,"hash":")";
  out += hex_of(e.hash);
  out += R"("}})";
  return out;
}

std::optional<recorded_event> parse_export_event_line(std::string_view line) {
  line_reader r(line);
  recorded_event e;
  std::string id;
  std::string hash;
  if (!r.literal(R"({"event":{"global_seq":)") || !r.integer(e.global_seq) ||
      !r.literal(R"(,"stream_id":)") || !r.string(e.stream_id) || !r.literal(R"(,"version":)") ||
      !r.integer(e.version) || !r.literal(R"(,"event_id":)") || !r.string(id) ||
      !r.literal(R"(,"type":)") || !r.string(e.type) || !r.literal(R"(,"payload":)") ||
      !r.string(e.payload) || !r.literal(R"(,"metadata":)") || !r.string(e.metadata) ||
      !r.literal(R"(,"recorded_at_us":)")) {
    return std::nullopt;
  }
  // recorded_at_us may be negative.
  const bool negative = r.literal("-");
  std::int64_t us = 0;
  if (!r.integer(us) || !r.literal(R"(,"hash":)") || !r.string(hash) || !r.literal("}}") ||
      !r.at_end()) {
    return std::nullopt;
  }
  e.recorded_at_us = negative ? -us : us;
  auto parsed_id = parse_uuid_text(id);
  // As the table's CHECKs require: positions from 1, a stream id and a type.
  if (!parsed_id || !digest_of(hash, e.hash) || e.global_seq == 0 || e.version == 0 ||
      e.stream_id.empty() || e.type.empty()) {
    return std::nullopt;
  }
  e.event_id = *parsed_id;
  return e;
}

std::string format_export_header(const export_header& h) {
  json_writer w;
  w.begin_object()
      .field("format", export_format)
      .field("origin", h.origin)
      .field("verifier_key", h.verifier_key)
      .field("since", h.since)
      .field("previous_hash", hex_of(h.previous_hash));
  w.key("frontier").begin_array();
  for (const auto& f : h.frontier) w.string(hex_of(f));
  w.end_array().field("exported_at", h.exported_at).end_object();
  return w.take();
}

std::optional<export_header> parse_export_header(std::string_view line) {
  auto body = json_body::parse(line, export_limits());
  if (!body) return std::nullopt;
  const auto format = body->get_string("format");
  const auto origin = body->get_string("origin");
  const auto key = body->get_string("verifier_key");
  const auto since = body->get_int("since");
  const auto previous = body->get_string("previous_hash");
  const auto frontier = body->get_string_array("frontier");
  const auto at = body->get_string("exported_at");
  if (!present(format) || *present(format) != export_format || !present(origin) || !present(key) ||
      !present(since) || *present(since) < 0 || !present(previous) || !present(frontier) ||
      !present(at)) {
    return std::nullopt;
  }
  export_header h;
  h.origin = *present(origin);
  h.verifier_key = *present(key);
  h.since = static_cast<std::uint64_t>(*present(since));
  h.exported_at = *present(at);
  if (!digest_of(*present(previous), h.previous_hash)) return std::nullopt;
  for (const auto& f : *present(frontier)) {
    sha256_digest d{};
    if (!digest_of(f, d)) return std::nullopt;
    h.frontier.push_back(d);
  }
  return h;
}

std::string format_export_checkpoint_line(std::uint64_t tree_size, std::string_view note) {
  json_writer w;
  w.begin_object().key("checkpoint").begin_object();
  w.field("tree_size", tree_size).field("note", note).end_object().end_object();
  return w.take();
}

std::optional<export_checkpoint> parse_export_checkpoint_line(std::string_view line) {
  auto body = json_body::parse(line, export_limits());
  if (!body) return std::nullopt;
  const auto inner = body->get_object("checkpoint");
  if (!present(inner)) return std::nullopt;
  const auto size = present(inner)->get_int("tree_size");
  const auto note = present(inner)->get_string("note");
  if (!present(size) || *present(size) < 1 || !present(note)) return std::nullopt;
  return export_checkpoint{static_cast<std::uint64_t>(*present(size)), *present(note)};
}

}  // namespace keyledger::infra

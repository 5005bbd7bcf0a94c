#include "domain/audit/checkpoint.hpp"

#include <array>
#include <limits>

#include "domain/encoding.hpp"
#include "domain/text.hpp"

namespace keyledger::domain::audit {
namespace {

// "— ": em dash U+2014 in UTF-8, then a space.
constexpr std::string_view signature_prefix = "\xE2\x80\x94 ";
constexpr std::string_view time_prefix = "time ";
constexpr std::size_t key_id_bytes = 4;
constexpr std::size_t key_id_hex_digits = 8;

// Go's unicode.IsSpace: the ASCII spaces, U+0085, U+00A0 and Unicode's Z categories.
bool is_unicode_space(char32_t cp) noexcept {
  switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// Valid UTF-8 with no control character below U+0020 other than "\n" (C2SP signed-note).
bool valid_note_encoding(std::string_view s) noexcept {
  for (std::size_t pos = 0; pos < s.size();) {
    const auto cp = decode_utf8(s, pos);
    if (!cp || (*cp < 0x20 && *cp != '\n')) return false;
  }
  return true;
}

// A decimal without leading zeros ("0" alone) no larger than `max`.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) noexcept {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : s) {
    if (!is_ascii_digit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// The next "\n"-terminated line of `rest` (without its newline), or nullopt if none is left.
std::optional<std::string_view> take_line(std::string_view& rest) noexcept {
  const std::size_t end = rest.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end + 1);
  return line;
}

void append_key_id(std::string& out, std::uint32_t id) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((id >> shift) & 0xff));
  }
}

std::uint32_t read_key_id(std::string_view bytes) noexcept {
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < key_id_bytes; ++i) {
    id = (id << 8) | static_cast<std::uint8_t>(bytes[i]);
  }
  return id;
}

}  // namespace

bool valid_note_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t pos = 0; pos < name.size();) {
    const auto cp = decode_utf8(name, pos);
    if (!cp || *cp == '+' || *cp < 0x20 || is_unicode_space(*cp)) return false;
  }
  return true;
}

// ---- checkpoint ------------------------------------------------------------------------------

std::string_view to_string(checkpoint_refusal r) noexcept {
  switch (r) {
    case checkpoint_refusal::bad_lines:
      return "bad_lines";
    case checkpoint_refusal::bad_origin:
      return "bad_origin";
    case checkpoint_refusal::bad_size:
      return "bad_size";
    case checkpoint_refusal::bad_root:
      return "bad_root";
    case checkpoint_refusal::bad_time:
      return "bad_time";
  }
  return "unknown";
}

result<std::string, checkpoint_refusal> format_checkpoint(const checkpoint& c) {
  if (!valid_note_name(c.origin)) return checkpoint_refusal::bad_origin;
  if (c.time < 0) return checkpoint_refusal::bad_time;
  std::string out = c.origin;
  out += '\n';
  out += std::to_string(c.size);
  out += '\n';
  out += base64_encode(c.root);
  out += '\n';
  out += time_prefix;
  out += std::to_string(c.time);
  out += '\n';
  return out;
}

result<checkpoint, checkpoint_refusal> parse_checkpoint(std::string_view text) {
  std::string_view rest = text;
  std::array<std::string_view, 4> lines;
  for (auto& line : lines) {
    const auto next = take_line(rest);
    if (!next) return checkpoint_refusal::bad_lines;
    line = *next;
  }
  if (!rest.empty()) return checkpoint_refusal::bad_lines;

  checkpoint c;
  if (!valid_note_name(lines[0])) return checkpoint_refusal::bad_origin;
  c.origin = std::string(lines[0]);

  const auto size = parse_decimal(lines[1], std::numeric_limits<std::uint64_t>::max());
  if (!size) return checkpoint_refusal::bad_size;
  c.size = *size;

  // base64_decode is canonical: padding required, no stray bits, no other alphabet.
  const auto root = base64_decode(lines[2]);
  if (!root || root->size() != c.root.size()) return checkpoint_refusal::bad_root;
  for (std::size_t i = 0; i < c.root.size(); ++i) c.root[i] = static_cast<std::uint8_t>((*root)[i]);

  if (!lines[3].starts_with(time_prefix)) return checkpoint_refusal::bad_time;
  const auto time =
      parse_decimal(lines[3].substr(time_prefix.size()), std::numeric_limits<std::int64_t>::max());
  if (!time) return checkpoint_refusal::bad_time;
  c.time = static_cast<std::int64_t>(*time);
  return c;
}

// ---- signed note -----------------------------------------------------------------------------

std::string_view to_string(note_refusal r) noexcept {
  switch (r) {
    case note_refusal::too_large:
      return "too_large";
    case note_refusal::bad_encoding:
      return "bad_encoding";
    case note_refusal::bad_text:
      return "bad_text";
    case note_refusal::no_signatures:
      return "no_signatures";
    case note_refusal::bad_signature_line:
      return "bad_signature_line";
    case note_refusal::too_many_signatures:
      return "too_many_signatures";
    case note_refusal::unknown_key:
      return "unknown_key";
    case note_refusal::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

result<std::string, note_refusal> format_signature_line(const note_signature& s) {
  if (!valid_note_name(s.key_name) || s.signature.empty()) return note_refusal::bad_signature_line;
  std::string blob;
  blob.reserve(key_id_bytes + s.signature.size());
  append_key_id(blob, s.key_id);
  blob += s.signature;
  std::string line(signature_prefix);
  line += s.key_name;
  line += ' ';
  line += base64_encode(blob);
  line += '\n';
  return line;
}

result<std::string, note_refusal> format_note(std::string_view text,
                                              std::span<const note_signature> signatures) {
  if (text.empty() || text.back() != '\n') return note_refusal::bad_text;
  if (!valid_note_encoding(text)) return note_refusal::bad_encoding;
  if (signatures.empty()) return note_refusal::no_signatures;
  if (signatures.size() > max_note_signatures) return note_refusal::too_many_signatures;
  std::string out(text);
  out += '\n';
  for (const auto& s : signatures) {
    auto line = format_signature_line(s);
    if (!line) return line.error();
    out += line.value();
  }
  if (out.size() > max_note_bytes) return note_refusal::too_large;
  return out;
}

result<signed_note, note_refusal> parse_note(std::string_view note) {
  if (note.size() > max_note_bytes) return note_refusal::too_large;
  if (!valid_note_encoding(note)) return note_refusal::bad_encoding;

  // The text ends at the last blank line; signature lines never contain one.
  const std::size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return note_refusal::no_signatures;
  signed_note out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view rest = note.substr(split + 2);
  if (rest.empty() || rest.back() != '\n') return note_refusal::no_signatures;

  while (!rest.empty()) {
    std::string_view line = *take_line(rest);
    if (out.signatures.size() == max_note_signatures) return note_refusal::too_many_signatures;
    if (!line.starts_with(signature_prefix)) return note_refusal::bad_signature_line;
    line.remove_prefix(signature_prefix.size());
    // The name ends at the first space (a name has none); the rest is one base64 word.
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return note_refusal::bad_signature_line;
    const std::string_view name = line.substr(0, space);
    const auto blob = base64_decode(line.substr(space + 1));
    if (!valid_note_name(name) || !blob || blob->size() <= key_id_bytes) {
      return note_refusal::bad_signature_line;
    }
    out.signatures.push_back({std::string(name), read_key_id(*blob), blob->substr(key_id_bytes)});
  }
  return out;
}

// ---- verifier keys ---------------------------------------------------------------------------

std::string format_verifier_key(const verifier_key& k) {
  constexpr char digits[] = "0123456789abcdef";
  std::string out = k.name;
  out += '+';
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(digits[(k.key_id >> shift) & 0xf]);
  out += '+';
  std::string blob(1, static_cast<char>(k.type));
  blob += k.public_key;
  out += base64_encode(blob);
  return out;
}

std::optional<verifier_key> parse_verifier_key(std::string_view text) {
  // A name holds no '+'; the base64 after the key id may.
  const std::size_t first = text.find('+');
  if (first == std::string_view::npos) return std::nullopt;
  const std::string_view name = text.substr(0, first);
  const std::string_view after = text.substr(first + 1);
  if (after.size() < key_id_hex_digits + 1 || after[key_id_hex_digits] != '+') {
    return std::nullopt;
  }
  verifier_key k;
  for (const char c : after.substr(0, key_id_hex_digits)) {
    const int v = hex_value(c);
    if (v < 0 || is_ascii_upper(c)) return std::nullopt;
    k.key_id = (k.key_id << 4) | static_cast<std::uint32_t>(v);
  }
  const auto blob = base64_decode(after.substr(key_id_hex_digits + 1));
  if (!valid_note_name(name) || !blob || blob->size() < 2) return std::nullopt;
  k.name = std::string(name);
  k.type = static_cast<std::uint8_t>((*blob)[0]);
  k.public_key = blob->substr(1);
  return k;
}

std::string key_id_preimage(std::string_view name, std::uint8_t type,
                            std::span<const std::uint8_t> public_key) {
  std::string out(name);
  out += '\n';
  out += static_cast<char>(type);
  out.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  return out;
}

std::uint32_t key_id_of(const digest& preimage_hash) noexcept {
  return read_key_id(
      std::string_view(reinterpret_cast<const char*>(preimage_hash.data()), key_id_bytes));
}

}  // namespace keyledger::domain::audit

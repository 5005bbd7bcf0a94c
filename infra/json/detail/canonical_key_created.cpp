#include "infra/json/detail/canonical_key_created.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "domain/types.hpp"
#include "infra/json/event_codec.hpp"

namespace keyledger::infra::detail {

namespace {

// A cursor over the payload that accepts only the tokens the encoder writes. Every reader
// returns nullopt (or false) on anything else and leaves the scan to be abandoned.
class canonical_scan {
 public:
  explicit canonical_scan(std::string_view text) noexcept : text_(text) {}

  bool at_end() const noexcept { return at_ == text_.size(); }

  bool literal(std::string_view s) noexcept {
    if (text_.size() - at_ < s.size() || text_.compare(at_, s.size(), s) != 0) return false;
    at_ += s.size();
    return true;
  }

  /// `,"name":` (or `"name":` right after the opening brace, `first`).
  bool member(std::string_view name, bool first = false) noexcept {
    if (!first && !literal(",")) return false;
    return literal("\"") && literal(name) && literal("\":");
  }

  /// A string whose characters are printable ASCII (0x20-0x7e) without a backslash: JSON text
  /// and value are then the same bytes (no escape, no UTF-8 to validate).
  std::optional<std::string_view> simple_string() noexcept {
    if (!literal("\"")) return std::nullopt;
    const std::size_t start = at_;
    for (; at_ < text_.size(); ++at_) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') return text_.substr(start, at_++ - start);
      if (c < 0x20 || c > 0x7e || c == '\\') return std::nullopt;
    }
    return std::nullopt;
  }

  /// A simple string, assigned to `out` (whose storage is reused).
  bool string(std::string& out) {
    const auto s = simple_string();
    if (!s) return false;
    out.assign(*s);
    return true;
  }

  /// null: "" (as opt_string_or_null(...).value_or("") reads it); else a simple string.
  bool string_or_null(std::string& out) {
    if (literal("null")) {
      out.clear();
      return true;
    }
    return string(out);
  }

  std::optional<domain::timestamp> timestamp() noexcept {
    const auto s = simple_string();
    if (!s) return std::nullopt;
    return domain::parse_timestamp(*s);
  }

  /// `[]` or `["a","b"]` of simple strings, into `out` (its elements' storage reused).
  bool string_array(std::vector<std::string>& out) {
    if (!literal("[")) return false;
    std::size_t n = 0;
    if (!literal("]")) {
      do {
        if (n == out.size()) out.emplace_back();
        if (!string(out[n])) return false;
        ++n;
      } while (literal(","));
      if (!literal("]")) return false;
    }
    out.resize(n);
    return true;
  }

  std::optional<bool> boolean() noexcept {
    if (literal("true")) return true;
    if (literal("false")) return false;
    return std::nullopt;
  }

  /// Digits without a sign, a fraction, an exponent or a leading zero, within uint32.
  std::optional<std::uint32_t> uint32() noexcept {
    const std::size_t start = at_;
    std::uint64_t value = 0;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9' && at_ - start < 10) {
      value = value * 10 + static_cast<std::uint64_t>(text_[at_] - '0');
      ++at_;
    }
    const std::size_t digits = at_ - start;
    if (digits == 0 || (digits > 1 && text_[start] == '0')) return std::nullopt;
    if (value > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    // An eleventh digit (or a fraction, an exponent): not this form.
    if (at_ < text_.size() && (text_[at_] == '.' || text_[at_] == 'e' || text_[at_] == 'E' ||
                               (text_[at_] >= '0' && text_[at_] <= '9'))) {
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
  }

 private:
  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

bool decode_canonical_key_created_into(std::string_view payload, domain::key_created& e) {
  canonical_scan in(payload);
  // The members in the order encode(key_created) writes them; every member of `e` is assigned
  // (the optional ones reset first), so nothing of what it held before survives a success.
  e.expires_at.reset();
  e.limit.reset();
  e.owner_user_id.clear();
  if (!in.literal("{") || !in.member("key_id", true) || !in.string(e.key_id)) return false;
  if (!in.member("workspace_id") || !in.string(e.workspace_id)) return false;
  if (!in.member("name") || !in.string(e.name) || !in.member("environment")) return false;
  const auto env_text = in.simple_string();
  if (!env_text) return false;
  const auto env = domain::parse_environment(*env_text);
  if (!env || !in.member("scopes") || !in.string_array(e.scopes)) return false;
  e.env = *env;
  if (!in.member("key_hash") || !in.string(e.key_hash)) return false;
  if (!in.member("start") || !in.string(e.start) || !in.member("created_at")) return false;
  const auto created_at = in.timestamp();
  if (!created_at || !in.member("expires_at")) return false;
  e.created_at = *created_at;
  if (!in.literal("null")) {
    e.expires_at = in.timestamp();
    if (!e.expires_at) return false;
  }
  if (!in.member("allowed_cidrs") || !in.string_array(e.allowed_cidrs)) return false;
  if (!in.member("postback_url") || !in.string_or_null(e.postback_url)) return false;
  if (!in.member("off_the_record")) return false;
  const auto off_the_record = in.boolean();
  if (!off_the_record || !in.member("enabled")) return false;
  e.off_the_record = *off_the_record;
  const auto enabled = in.boolean();
  if (!enabled || !in.member("limit")) return false;
  e.enabled = *enabled;
  if (!in.literal("null")) {
    if (!in.literal("{") || !in.member("limit", true)) return false;
    const auto limit = in.uint32();
    if (!limit || !in.member("window_seconds")) return false;
    const auto window = in.uint32();
    if (!window || !in.literal("}")) return false;
    e.limit = domain::rate_limit{*limit, *window};
  }
  if (!in.member("rotated_from") || !in.string_or_null(e.rotated_from)) return false;
  // Written only for owned keys.
  if (in.member("owner_user_id") && !in.string_or_null(e.owner_user_id)) return false;
  return in.literal("}") && in.at_end();
}

std::optional<domain::key_created> decode_canonical_key_created(std::string_view payload) {
  domain::key_created e;
  if (!decode_canonical_key_created_into(payload, e)) return std::nullopt;
  return e;
}

}  // namespace keyledger::infra::detail

namespace keyledger::infra {

// Here rather than in event_codec.cpp: the entry point for the many-events reader, beside the
// scan it tries first.
bool decode_key_created_into(std::string_view payload, domain::key_created& out) noexcept {
  try {
    // As decode_api_key_event: the encoder's form by the scan, anything else through the DOM.
    if (detail::decode_canonical_key_created_into(payload, out)) return true;
    auto e = detail::decode_key_created_with_dom(payload);
    if (!e) return false;
    out = std::move(*e);
    return true;
  } catch (...) {
    return false;  // allocation
  }
}

}  // namespace keyledger::infra

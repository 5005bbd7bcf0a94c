#include "infra/json/detail/canonical_key_created.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "domain/types.hpp"

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

  std::optional<std::string> string() {
    const auto s = simple_string();
    if (!s) return std::nullopt;
    return std::string(*s);
  }

  /// null: "" (as opt_string_or_null(...).value_or("") reads it); else a simple string.
  std::optional<std::string> string_or_null() {
    if (literal("null")) return std::string();
    return string();
  }

  std::optional<domain::timestamp> timestamp() noexcept {
    const auto s = simple_string();
    if (!s) return std::nullopt;
    return domain::parse_timestamp(*s);
  }

  /// `[]` or `["a","b"]` of simple strings.
  std::optional<std::vector<std::string>> string_array() {
    if (!literal("[")) return std::nullopt;
    std::vector<std::string> out;
    if (literal("]")) return out;
    do {
      auto s = string();
      if (!s) return std::nullopt;
      out.push_back(std::move(*s));
    } while (literal(","));
    if (!literal("]")) return std::nullopt;
    return out;
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

std::optional<domain::key_created> decode_canonical_key_created(std::string_view payload) {
  canonical_scan in(payload);
  domain::key_created e;
  // The members in the order encode(key_created) writes them.
  if (!in.literal("{") || !in.member("key_id", true)) return std::nullopt;
  auto key_id = in.string();
  if (!key_id || !in.member("workspace_id")) return std::nullopt;
  auto workspace_id = in.string();
  if (!workspace_id || !in.member("name")) return std::nullopt;
  auto name = in.string();
  if (!name || !in.member("environment")) return std::nullopt;
  const auto env_text = in.simple_string();
  if (!env_text) return std::nullopt;
  const auto env = domain::parse_environment(*env_text);
  if (!env || !in.member("scopes")) return std::nullopt;
  auto scopes = in.string_array();
  if (!scopes || !in.member("key_hash")) return std::nullopt;
  auto key_hash = in.string();
  if (!key_hash || !in.member("start")) return std::nullopt;
  auto start = in.string();
  if (!start || !in.member("created_at")) return std::nullopt;
  const auto created_at = in.timestamp();
  if (!created_at || !in.member("expires_at")) return std::nullopt;
  if (!in.literal("null")) {
    e.expires_at = in.timestamp();
    if (!e.expires_at) return std::nullopt;
  }
  if (!in.member("allowed_cidrs")) return std::nullopt;
  auto allowed_cidrs = in.string_array();
  if (!allowed_cidrs || !in.member("postback_url")) return std::nullopt;
  auto postback_url = in.string_or_null();
  if (!postback_url || !in.member("off_the_record")) return std::nullopt;
  const auto off_the_record = in.boolean();
  if (!off_the_record || !in.member("enabled")) return std::nullopt;
  const auto enabled = in.boolean();
  if (!enabled || !in.member("limit")) return std::nullopt;
  if (!in.literal("null")) {
    if (!in.literal("{") || !in.member("limit", true)) return std::nullopt;
    const auto limit = in.uint32();
    if (!limit || !in.member("window_seconds")) return std::nullopt;
    const auto window = in.uint32();
    if (!window || !in.literal("}")) return std::nullopt;
    e.limit = domain::rate_limit{*limit, *window};
  }
  if (!in.member("rotated_from")) return std::nullopt;
  auto rotated_from = in.string_or_null();
  if (!rotated_from) return std::nullopt;
  // Written only for owned keys.
  if (in.member("owner_user_id")) {
    auto owner = in.string_or_null();
    if (!owner) return std::nullopt;
    e.owner_user_id = std::move(*owner);
  }
  if (!in.literal("}") || !in.at_end()) return std::nullopt;

  e.key_id = std::move(*key_id);
  e.workspace_id = std::move(*workspace_id);
  e.name = std::move(*name);
  e.env = *env;
  e.scopes = std::move(*scopes);
  e.key_hash = std::move(*key_hash);
  e.start = std::move(*start);
  e.created_at = *created_at;
  e.allowed_cidrs = std::move(*allowed_cidrs);
  e.postback_url = std::move(*postback_url);
  e.off_the_record = *off_the_record;
  e.enabled = *enabled;
  e.rotated_from = std::move(*rotated_from);
  return e;
}

}  // namespace keyledger::infra::detail

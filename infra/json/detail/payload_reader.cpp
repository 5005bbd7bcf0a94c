#include "infra/json/detail/payload_reader.hpp"

#include <cstring>
#include <vector>

#include "domain/encoding.hpp"

namespace keyledger::infra::detail {

namespace rj = rapidjson;

// ---- encoding -----------------------------------------------------------------------------

// ---- decoding -----------------------------------------------------------------------------

namespace {

// RapidJSON 1.1.0 decodes an escaped lone surrogate ("\udc00") to three bytes that are not
// UTF-8 (ED B0 80), although kParseValidateEncodingFlag checks the raw bytes. A payload holding
// one decoded to a string the encoders cannot write back (they write U+FFFD), so it does not
// decode (found by tests/fuzz event_codecs). json_body refuses the same bytes (text_ok).
bool has_surrogate_escape(std::string_view text) noexcept {
  for (auto at = text.find("\\u"); at != std::string_view::npos; at = text.find("\\u", at + 1)) {
    if (at + 3 < text.size() && (text[at + 2] == 'd' || text[at + 2] == 'D') &&
        domain::hex_value(text[at + 3]) >= 8) {
      return true;
    }
  }
  return false;
}

bool cesu_free(const char* s, std::size_t len) noexcept {
  for (std::size_t i = 0; i + 1 < len; ++i) {
    if (static_cast<unsigned char>(s[i]) == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
      return false;
    }
  }
  return true;
}

// Every string and member name of `root`, without recursion (the parse was iterative too).
bool strings_are_utf8(const rj::Value& root) {
  std::vector<const rj::Value*> todo{&root};
  while (!todo.empty()) {
    const rj::Value* v = todo.back();
    todo.pop_back();
    if (v->IsString() && !cesu_free(v->GetString(), v->GetStringLength())) return false;
    if (v->IsArray()) {
      for (const auto& e : v->GetArray()) todo.push_back(&e);
    } else if (v->IsObject()) {
      for (const auto& m : v->GetObject()) {
        if (!cesu_free(m.name.GetString(), m.name.GetStringLength())) return false;
        todo.push_back(&m.value);
      }
    }
  }
  return true;
}

}  // namespace

bool parse_payload_object(std::string_view payload, payload_document& document) {
  auto& doc = document.doc();
  // Empty is refused before memchr/Parse see a possibly null data(). The memory stream reports
  // NUL as end of input; never valid in JSON text anyway.
  if (payload.empty() || std::memchr(payload.data(), '\0', payload.size()) != nullptr) {
    return false;
  }
  // Without kParseStopWhenDoneFlag anything but whitespace after the object is an error.
  doc.Parse<rj::kParseIterativeFlag | rj::kParseValidateEncodingFlag>(payload.data(),
                                                                      payload.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  // The walk only when an escape could have made such a string (the stored log's hot path).
  return !has_surrogate_escape(payload) || strings_are_utf8(doc);
}

const rj::Value* field_reader::member(std::string_view name) {
  const rj::Value* found = nullptr;
  for (const auto& m : obj_.GetObject()) {
    if (std::string_view(m.name.GetString(), m.name.GetStringLength()) != name) continue;
    if (found != nullptr) return fail<const rj::Value*>();
    found = &m.value;
  }
  return found;
}

std::string field_reader::string(std::string_view name) { return required(opt_string(name)); }

std::optional<std::string> field_reader::opt_string(std::string_view name) {
  const rj::Value* v = member(name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsString()) return fail<std::optional<std::string>>();
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<std::string> field_reader::opt_string_or_null(std::string_view name) {
  // One look-up of the member (it is walked for duplicates each time).
  const rj::Value* v = member(name);
  if (v == nullptr || v->IsNull()) return std::nullopt;
  if (!v->IsString()) return fail<std::optional<std::string>>();
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<std::string> field_reader::nullable_string(std::string_view name) {
  if (!has(name)) return fail<std::optional<std::string>>();
  return opt_string_or_null(name);
}

std::vector<std::string> field_reader::string_array(std::string_view name) {
  return required(opt_string_array(name));
}

std::optional<std::vector<std::string>> field_reader::opt_string_array(std::string_view name) {
  const rj::Value* v = member(name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsArray()) return fail<std::optional<std::vector<std::string>>>();
  std::vector<std::string> out;
  out.reserve(v->Size());
  for (const auto& e : v->GetArray()) {
    if (!e.IsString()) return fail<std::optional<std::vector<std::string>>>();
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return out;
}

bool field_reader::boolean(std::string_view name) { return required(opt_bool(name)); }

std::optional<bool> field_reader::opt_bool(std::string_view name) {
  const rj::Value* v = member(name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsBool()) return fail<std::optional<bool>>();
  return v->GetBool();
}

std::int64_t field_reader::integer(std::string_view name) {
  const rj::Value* v = member(name);
  if (v == nullptr || !v->IsInt64()) return fail<std::int64_t>();
  return v->GetInt64();
}

std::uint32_t field_reader::uint32(std::string_view name) {
  const rj::Value* v = member(name);
  if (v == nullptr || !v->IsUint()) return fail<std::uint32_t>();
  return v->GetUint();
}

domain::timestamp field_reader::timestamp(std::string_view name) {
  return required(opt_timestamp_or_null(name, false));
}

std::optional<domain::timestamp> field_reader::opt_timestamp_or_null(std::string_view name,
                                                                     bool allow_null) {
  // Read in place: no copy of the text, and one look-up.
  const rj::Value* v = member(name);
  if (v == nullptr) return std::nullopt;
  if (allow_null && v->IsNull()) return std::nullopt;
  if (!v->IsString()) return fail<std::optional<domain::timestamp>>();
  const auto t = domain::parse_timestamp(std::string_view(v->GetString(), v->GetStringLength()));
  if (!t) return fail<std::optional<domain::timestamp>>();
  return t;
}

std::optional<domain::timestamp> field_reader::nullable_timestamp(std::string_view name) {
  if (!has(name)) return fail<std::optional<domain::timestamp>>();
  return opt_timestamp_or_null(name);
}

}  // namespace keyledger::infra::detail

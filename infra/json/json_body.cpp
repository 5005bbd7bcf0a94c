#include <rapidjson/document.h>
#include <rapidjson/error/error.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "domain/text.hpp"
#include "infra/core/wipe.hpp"
#include "infra/json/json.hpp"

namespace keyledger::infra {

namespace {

namespace rj = rapidjson;

// kParseFullPrecisionFlag: without it RapidJSON's fast path may round a long number to a
// neighbouring double, and to_json() then writes a number that parses to yet another one (found
// by tests/fuzz json_body: 9223372036854751614200 became 9.223372036854751e21, then
// 9.223372036854752e21); correctly rounded, the shortest text to_json() writes is a fixed point.
// A parsed body's values, the document's parse stack and the reader's string stack all come
// from one pool whose first chunk lies inside the body (document_store): a request body of a
// few hundred bytes parses without touching the heap beyond the body itself (issue 12: no
// allocation per verification). Bigger bodies take further chunks from the heap as before.
using pool_allocator = rj::MemoryPoolAllocator<rj::CrtAllocator>;
using body_document = rj::GenericDocument<rj::UTF8<>, pool_allocator, pool_allocator>;
using body_reader = rj::GenericReader<rj::UTF8<>, rj::UTF8<>, pool_allocator>;
constexpr std::size_t inline_pool_bytes = 4096;
constexpr std::size_t parse_stack_bytes = 256;
constexpr std::size_t pool_chunk_bytes = 64 * 1024;  // RapidJSON's default chunk

struct document_store {
  document_store() = default;
  document_store(const document_store&) = delete;
  document_store& operator=(const document_store&) = delete;

  alignas(std::max_align_t) unsigned char buffer[inline_pool_bytes];
  rj::CrtAllocator heap;  // where chunks beyond the buffer come from (stateless)
  pool_allocator pool{buffer, sizeof buffer, pool_chunk_bytes, &heap};
  body_document doc{&pool, parse_stack_bytes, &pool};
};

constexpr unsigned parse_flags = rj::kParseIterativeFlag | rj::kParseValidateEncodingFlag |
                                 rj::kParseStopWhenDoneFlag | rj::kParseFullPrecisionFlag;

enum class problem {
  none,
  too_deep,
  string_too_long,
  array_too_long,
  too_many_members,
  nul_in_string,
  bad_unicode,
  bad_number,
};

const char* message_for(problem p) {
  switch (p) {
    case problem::too_deep:
      return "JSON nesting too deep";
    case problem::string_too_long:
      return "JSON string too long";
    case problem::array_too_long:
      return "JSON array has too many elements";
    case problem::too_many_members:
      return "JSON object has too many members";
    case problem::nul_in_string:
      return "JSON strings must not contain NUL characters";
    case problem::bad_unicode:
      return "request body is not valid UTF-8";
    case problem::bad_number:
      return "JSON number out of range";
    case problem::none:
      break;
  }
  return "request body is not valid JSON";
}

// Sits between RapidJSON's reader and the document it builds, and stops the parse (by returning
// false) the moment a limit is exceeded: a megabyte of '[' costs max_depth steps, not a
// megabyte of allocations. Parsing is iterative, so depth never touches the call stack either.
class limiting_handler {
 public:
  // The stack of open containers is this thread's, reused from parse to parse (a parse never
  // starts another on the same thread).
  limiting_handler(body_document& doc, const json_limits& limits)
      : doc_(doc), limits_(limits), open_(open_containers()) {
    open_.clear();
  }

  bool Null() { return element() && doc_.Null(); }
  bool Bool(bool b) { return element() && doc_.Bool(b); }
  bool Int(int i) { return element() && doc_.Int(i); }
  bool Uint(unsigned u) { return element() && doc_.Uint(u); }
  bool Int64(std::int64_t i) { return element() && doc_.Int64(i); }
  bool Uint64(std::uint64_t u) { return element() && doc_.Uint64(u); }
  // With kParseFullPrecisionFlag RapidJSON 1.1.0 reads a number that underflows, e.g. 1e-324,
  // as NaN (found by tests/fuzz json_body), and a NaN cannot be written back (to_json() stopped
  // mid-text). Such a number is refused; a finite one is kept.
  bool Double(double d) {
    if (!std::isfinite(d)) return fail(problem::bad_number);
    return element() && doc_.Double(d);
  }
  bool RawNumber(const char* s, rj::SizeType len, bool copy) {
    return element() && doc_.RawNumber(s, len, copy);
  }
  bool String(const char* s, rj::SizeType len, bool copy) {
    return element() && text_ok(s, len) && doc_.String(s, len, copy);
  }
  bool Key(const char* s, rj::SizeType len, bool copy) {
    if (++open_.back().count > limits_.max_members) return fail(problem::too_many_members);
    return text_ok(s, len) && doc_.Key(s, len, copy);
  }
  bool StartObject() { return open(true) && doc_.StartObject(); }
  bool EndObject(rj::SizeType n) {
    open_.pop_back();
    return doc_.EndObject(n);
  }
  bool StartArray() { return open(false) && doc_.StartArray(); }
  bool EndArray(rj::SizeType n) {
    open_.pop_back();
    return doc_.EndArray(n);
  }

  problem failure() const noexcept { return failure_; }

 private:
  struct container {
    bool object;
    std::size_t count;
  };

  bool fail(problem p) {
    failure_ = p;
    return false;
  }

  // Counts a value as an element of the enclosing array (object members count at their key).
  bool element() {
    if (!open_.empty() && !open_.back().object && ++open_.back().count > limits_.max_array) {
      return fail(problem::array_too_long);
    }
    return true;
  }

  bool open(bool object) {
    if (!element()) return false;
    if (open_.size() >= limits_.max_depth) return fail(problem::too_deep);
    open_.push_back({object, 0});
    return true;
  }

  // Checks a decoded string (member name or value). RapidJSON validates raw UTF-8, but decodes
  // an unpaired low-surrogate escape (\uDC00) into bytes that are not UTF-8, and \u0000 into a
  // NUL that would break C-string consumers (PostgreSQL text refuses it): both are refused here.
  bool text_ok(const char* s, rj::SizeType len) {
    if (len > limits_.max_string) return fail(problem::string_too_long);
    if (std::memchr(s, '\0', len) != nullptr) return fail(problem::nul_in_string);
    for (rj::SizeType i = 0; i + 1 < len; ++i) {
      if (static_cast<unsigned char>(s[i]) == 0xED &&
          static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
        return fail(problem::bad_unicode);
      }
    }
    return true;
  }

  static std::vector<container>& open_containers() {
    thread_local std::vector<container> open;
    return open;
  }

  body_document& doc_;
  const json_limits& limits_;
  std::vector<container>& open_;
  problem failure_ = problem::none;
};

bool is_json_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view name_of(const rj::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// Walks every object in the document (iteratively) and reports the first repeated member name:
// two values for one field are ambiguous, and parsers disagree on which one wins.
std::optional<std::string> find_duplicate_member(const rj::Value& root) {
  // This thread's work lists, reused from call to call (their capacity stays).
  thread_local std::vector<const rj::Value*> pending;
  thread_local std::vector<std::string_view> names;
  pending.clear();
  pending.push_back(&root);
  while (!pending.empty()) {
    const rj::Value* v = pending.back();
    pending.pop_back();
    if (v->IsArray()) {
      for (const auto& e : v->GetArray()) {
        if (e.IsObject() || e.IsArray()) pending.push_back(&e);
      }
    } else if (v->IsObject()) {
      names.clear();
      for (const auto& m : v->GetObject()) {
        names.push_back(name_of(m.name));
        if (m.value.IsObject() || m.value.IsArray()) pending.push_back(&m.value);
      }
      std::sort(names.begin(), names.end());
      const auto dup = std::adjacent_find(names.begin(), names.end());
      if (dup != names.end()) return std::string(*dup);
    }
  }
  return std::nullopt;
}

std::string field_error(std::string_view field, std::string_view problem_text) {
  std::string m = "field '";
  m.append(field);
  m.append("' ");
  m.append(problem_text);
  return m;
}

}  // namespace

struct json_body::impl : document_store {
  const rj::Value* find(std::string_view field) const {
    for (const auto& m : doc.GetObject()) {
      if (name_of(m.name) == field) return &m.value;
    }
    return nullptr;
  }
};

namespace {

/// Set when this thread's spare document is destroyed (thread exit); a plain bool, valid for
/// the thread's whole life.
thread_local bool spare_torn_down = false;

/// One document's storage kept per thread: the 4 KiB inline pool and the document around it.
struct spare_document {
  json_body::impl* kept = nullptr;
  ~spare_document();
};

thread_local spare_document spare;

}  // namespace

spare_document::~spare_document() {
  spare_torn_down = true;
  delete kept;
  kept = nullptr;
}

json_body::impl_ptr json_body::new_impl() {
  // The kept one is a fresh document already (impl_deleter).
  if (!spare_torn_down && spare.kept != nullptr) {
    return impl_ptr(std::exchange(spare.kept, nullptr));
  }
  return impl_ptr(new impl());
}

void json_body::impl_deleter::operator()(impl* p) const noexcept {
  if (p == nullptr) return;
  if (!spare_torn_down && spare.kept == nullptr) {
    // Kept as a fresh document. The inline pool held the body's strings (a presented key), so
    // the storage is zeroed between the old document's end and the new one's start.
    p->~impl();
    wipe_bytes(static_cast<void*>(p), sizeof(impl));  // not a dead store: explicit_bzero
    ::new (p) impl();
    spare.kept = p;
    return;
  }
  delete p;
}

json_body::json_body(impl_ptr p) : impl_(std::move(p)) {}
json_body::~json_body() = default;
json_body::json_body(json_body&&) noexcept = default;
json_body& json_body::operator=(json_body&&) noexcept = default;

namespace {

// The one parse of untrusted JSON text: exactly one value within `limits`, nothing after it, no
// member given twice. The caller checks the root's type.
std::optional<json_error> parse_document(std::string_view text, const json_limits& limits,
                                         document_store& into) {
  if (text.size() > limits.max_bytes) return json_error{"JSON text too long"};
  // RapidJSON's memory stream reports NUL as end of input, so an embedded NUL could hide
  // whatever follows it; NUL is never valid in JSON text anyway.
  // An empty view may have a null data(), and memchr(nullptr, ...) is undefined even for 0
  // bytes (found by tests/fuzz event_codecs, decode_metadata of "").
  if (!text.empty() && std::memchr(text.data(), '\0', text.size()) != nullptr) {
    return json_error{"request body must not contain NUL bytes"};
  }
  if (std::all_of(text.begin(), text.end(), is_json_whitespace)) {
    return json_error{"request body is empty"};
  }

  body_document& doc = into.doc;
  rj::MemoryStream stream(text.data(), text.size());
  body_reader reader(&into.pool, parse_stack_bytes);
  limiting_handler handler(doc, limits);
  auto generate = [&](body_document&) {
    return !reader.Parse<parse_flags>(stream, handler).IsError();
  };
  doc.Populate(generate);

  if (reader.HasParseError()) {
    switch (reader.GetParseErrorCode()) {
      case rj::kParseErrorTermination:
        return json_error{message_for(handler.failure())};
      case rj::kParseErrorStringInvalidEncoding:
        return json_error{"request body is not valid UTF-8"};
      default:
        return json_error{"request body is not valid JSON"};
    }
  }
  // kParseStopWhenDoneFlag stops right after the root value; only whitespace may follow.
  const std::string_view rest = text.substr(std::min(stream.Tell(), text.size()));
  if (!std::all_of(rest.begin(), rest.end(), is_json_whitespace)) {
    return json_error{"request body has data after the JSON value"};
  }
  if (auto dup = find_duplicate_member(doc)) {
    if (domain::is_echoable_name(*dup)) return json_error{"duplicate field '" + *dup + "'"};
    return json_error{"duplicate field in JSON object"};
  }
  return std::nullopt;
}

}  // namespace

domain::result<json_body, json_error> json_body::parse(std::string_view text,
                                                       const json_limits& limits) {
  auto p = new_impl();
  if (auto failed = parse_document(text, limits, *p)) return *failed;
  if (!p->doc.IsObject()) return json_error{"request body must be a JSON object"};
  return json_body(std::move(p));
}

domain::result<std::vector<json_body>, json_error> json_body::parse_object_array(
    std::string_view text, const json_limits& limits) {
  const auto parsed = std::make_unique<document_store>();
  if (auto failed = parse_document(text, limits, *parsed)) return *failed;
  const body_document& root = parsed->doc;
  if (!root.IsArray()) return json_error{"request body must be a JSON array of objects"};
  std::vector<json_body> out;
  out.reserve(root.Size());
  for (const auto& e : root.GetArray()) {
    if (!e.IsObject()) return json_error{"request body must be a JSON array of objects"};
    auto p = new_impl();
    p->doc.CopyFrom(e, p->doc.GetAllocator());
    out.push_back(json_body(std::move(p)));
  }
  return out;
}

domain::result<std::optional<std::string>, json_error> json_body::get_string(
    std::string_view field) const {
  auto view = get_string_view(field);
  if (!view) return view.error();
  if (!view.value()) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(*view.value())};
}

domain::result<std::optional<std::string_view>, json_error> json_body::get_string_view(
    std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  if (v == nullptr) return std::optional<std::string_view>{};
  if (!v->IsString()) return json_error{field_error(field, "must be a string")};
  return std::optional<std::string_view>{name_of(*v)};
}

domain::result<std::optional<std::vector<std::string>>, json_error> json_body::get_string_array(
    std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  if (v == nullptr) return std::optional<std::vector<std::string>>{};
  if (!v->IsArray()) return json_error{field_error(field, "must be an array of strings")};
  std::vector<std::string> out;
  out.reserve(v->Size());
  for (const auto& e : v->GetArray()) {
    if (!e.IsString()) return json_error{field_error(field, "must be an array of strings")};
    out.emplace_back(name_of(e));
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

domain::result<std::optional<bool>, json_error> json_body::get_bool(std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  if (v == nullptr) return std::optional<bool>{};
  if (!v->IsBool()) return json_error{field_error(field, "must be a boolean")};
  return std::optional<bool>{v->GetBool()};
}

domain::result<std::optional<std::int64_t>, json_error> json_body::get_int(
    std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  if (v == nullptr) return std::optional<std::int64_t>{};
  if (v->IsInt64()) return std::optional<std::int64_t>{v->GetInt64()};
  // Integers beyond int64 (uint64 up to 2^64-1) are integers, just too large.
  if (v->IsUint64()) return json_error{field_error(field, "is out of range")};
  return json_error{field_error(field, "must be an integer")};
}

bool json_body::is_null(std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  return v != nullptr && v->IsNull();
}

domain::result<std::optional<json_body>, json_error> json_body::get_object(
    std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  if (v == nullptr) return std::optional<json_body>{};
  if (!v->IsObject()) return json_error{field_error(field, "must be an object")};
  auto p = new_impl();
  p->doc.CopyFrom(*v, p->doc.GetAllocator());
  return std::optional<json_body>{json_body(std::move(p))};
}

domain::result<std::optional<std::vector<json_body>>, json_error> json_body::get_object_array(
    std::string_view field) const {
  const rj::Value* v = impl_ ? impl_->find(field) : nullptr;
  if (v == nullptr) return std::optional<std::vector<json_body>>{};
  if (!v->IsArray()) return json_error{field_error(field, "must be an array of objects")};
  std::vector<json_body> out;
  out.reserve(v->Size());
  for (const auto& e : v->GetArray()) {
    if (!e.IsObject()) return json_error{field_error(field, "must be an array of objects")};
    auto p = new_impl();
    p->doc.CopyFrom(e, p->doc.GetAllocator());
    out.push_back(json_body(std::move(p)));
  }
  return std::optional<std::vector<json_body>>{std::move(out)};
}

std::string json_body::to_json() const {
  if (!impl_) return "{}";
  rj::StringBuffer buffer;
  rj::Writer<rj::StringBuffer> writer(buffer);
  // Cannot fail: the document holds one object of parsed values (no NaN or infinity).
  impl_->doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> json_body::first_unknown_field(
    std::initializer_list<std::string_view> known) const {
  if (!impl_) return std::nullopt;
  for (const auto& m : impl_->doc.GetObject()) {
    const std::string_view name = name_of(m.name);
    if (std::find(known.begin(), known.end(), name) == known.end()) return std::string(name);
  }
  return std::nullopt;
}

}  // namespace keyledger::infra

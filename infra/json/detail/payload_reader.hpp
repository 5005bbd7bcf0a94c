#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/types.hpp"
#include "infra/json/json.hpp"

// Private to infra/json: the pieces every event-payload codec (event_codec.cpp, user_codec.cpp)
// shares. Includes RapidJSON, so only infra/json .cpp files may include it.

namespace keyledger::infra::detail {

// ---- decoding -----------------------------------------------------------------------------

/// A DOM for one payload whose memory - the values and the parser's stack - comes first from
/// buffers inside it: a typical event payload (under 2 KiB) parses without a heap allocation,
/// where a default rapidjson::Document takes a 64 KiB chunk from malloc for every parse (a
/// start-up parses every event of the log). Bigger payloads spill over to heap chunks. Meant to
/// live on the stack of one decode; not copyable.
class payload_document {
 public:
  using pool = rapidjson::MemoryPoolAllocator<>;
  using document = rapidjson::GenericDocument<rapidjson::UTF8<>, pool, pool>;

  payload_document()
      : values_(value_buffer_, sizeof value_buffer_),
        stack_(stack_buffer_, sizeof stack_buffer_),
        doc_(&values_, stack_capacity, &stack_) {}
  payload_document(const payload_document&) = delete;
  payload_document& operator=(const payload_document&) = delete;

  document& doc() noexcept { return doc_; }

 private:
  static constexpr std::size_t stack_capacity = 1024;
  alignas(8) char value_buffer_[6144];
  alignas(8) char stack_buffer_[2048];
  pool values_;
  pool stack_;
  document doc_;  // last: destroyed before the allocators it uses
};

/// Parses a stored payload into `doc`; true only if it is exactly one JSON object: not empty,
/// no NUL byte, valid UTF-8, nothing but whitespace after it (iterative parser, so deep nesting
/// cannot overflow the stack). May throw std::bad_alloc.
bool parse_payload_object(std::string_view payload, payload_document& doc);

/// Reads the members of one event payload object, strictly: any failure (a member missing,
/// present more than once, of the wrong JSON type, or with a value that does not parse) marks
/// the whole payload as not decodable, and ok() turns false for good. Getters return a value
/// either way (a default one after a failure), so a decoder reads every member and checks ok()
/// once at the end. Getters named opt_* accept an absent member and return nullopt for it;
/// "_or_null" variants also read null as absent. Members nobody asks for are ignored.
///
/// A codec adds its domain readers (an enum spelled as a string, a nested object) as free
/// functions over member() and fail(). Holds a reference to `obj`, which must outlive it. Not
/// thread-safe.
class field_reader {
 public:
  /// `obj` must be an object (parse_payload_object() checked it, or IsObject()).
  explicit field_reader(const rapidjson::Value& obj) : obj_(obj) {}

  /// False once any member failed to read.
  bool ok() const noexcept { return ok_; }

  /// The member named `name`, or nullptr if absent. A member present more than once is
  /// ambiguous: the reader fails and nullptr is returned.
  const rapidjson::Value* member(std::string_view name);

  /// Marks the payload as not decodable.
  void fail() noexcept { ok_ = false; }

  /// fail(), then a default `T`: lets a getter end with `return fail<T>();`.
  template <class T>
  T fail() {
    fail();
    return T{};
  }

  /// True if the member is present (with any value, null included).
  bool has(std::string_view name) { return member(name) != nullptr; }

  /// A required string.
  std::string string(std::string_view name);
  /// Absent: nullopt; a string: its value.
  std::optional<std::string> opt_string(std::string_view name);
  /// Absent or null: nullopt; a string: its value.
  std::optional<std::string> opt_string_or_null(std::string_view name);
  /// Required to be present: null (nullopt) or a string.
  std::optional<std::string> nullable_string(std::string_view name);

  /// A required array of strings.
  std::vector<std::string> string_array(std::string_view name);
  /// Absent: nullopt; an array of strings: its values.
  std::optional<std::vector<std::string>> opt_string_array(std::string_view name);

  /// A required true or false.
  bool boolean(std::string_view name);
  /// Absent: nullopt; true or false: its value.
  std::optional<bool> opt_bool(std::string_view name);

  /// A required integer that fits std::int64_t.
  std::int64_t integer(std::string_view name);
  /// A required non-negative integer that fits std::uint32_t.
  std::uint32_t uint32(std::string_view name);

  /// A required RFC 3339 string (domain::parse_timestamp).
  domain::timestamp timestamp(std::string_view name);
  /// Absent: nullopt; null: nullopt if `allow_null`, else a failure; else an RFC 3339 string.
  std::optional<domain::timestamp> opt_timestamp_or_null(std::string_view name,
                                                         bool allow_null = true);
  /// Required to be present: null (nullopt) or an RFC 3339 string.
  std::optional<domain::timestamp> nullable_timestamp(std::string_view name);

 private:
  template <class T>
  T required(std::optional<T> value) {
    if (!value) return fail<T>();
    return std::move(*value);
  }

  const rapidjson::Value& obj_;
  bool ok_ = true;
};

/// A decoder of one event type from its parsed payload object.
template <class Event>
using decoder = std::optional<Event> (*)(const rapidjson::Value&);

/// Parses `payload` (parse_payload_object) and runs `decode` on it; nullopt, never an
/// exception, on any failure (a null decoder: a type this stream does not hold).
template <class Event>
std::optional<Event> parse_and_decode(std::string_view payload, decoder<Event> decode) noexcept {
  if (decode == nullptr) return std::nullopt;
  try {
    payload_document doc;
    if (!parse_payload_object(payload, doc)) return std::nullopt;
    return decode(doc.doc());
  } catch (...) {
    // Only allocation can throw here; "does not decode" is the documented answer.
    return std::nullopt;
  }
}

}  // namespace keyledger::infra::detail

#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"
#include "domain/types.hpp"
#include "infra/core/buffer_pool.hpp"
#include "infra/core/json_escape.hpp"  // append_json_string

namespace keyledger::infra {

struct json_limits {
  std::size_t max_depth = 8;      ///< nesting of objects/arrays
  std::size_t max_string = 4096;  ///< bytes in any one string
  std::size_t max_array = 64;     ///< elements in any one array
  std::size_t max_members = 64;   ///< members in any one object
  /// Bytes of JSON text, whitespace included. No cap by default: the HTTP server caps a
  /// request's body before it is parsed.
  std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
};

/// Limits for a keyledger server's answer as a client reads it (the CLI): the HTTP client's
/// body cap (4 MiB), and room beyond the largest answers (a list page of 100 keys, each with
/// up to 32 scopes and CIDRs) without being unbounded. Request bodies keep json_limits{}.
inline constexpr json_limits response_json_limits{
    .max_depth = 16,
    .max_string = 64 * 1024,
    .max_array = 1000,
    .max_members = 256,
    .max_bytes = 4 * 1024 * 1024,
};

/// A parse or shape error. `message` is safe to show a client: it names a field, never echoes
/// a value.
struct json_error {
  std::string message;
};

/// An untrusted JSON object: a request body, or a server's answer read by a client. Exactly one
/// JSON object, valid UTF-8, no embedded NUL, no duplicate member names, no trailing bytes,
/// within json_limits. RapidJSON (iterative, validating) behind a pimpl so its headers stay in
/// infra/json: this is the one parser entry for untrusted JSON. Movable, not copyable.
class json_body {
 public:
  /// Parses `text` within `limits` (json_limits{} for a request body, response_json_limits for
  /// a server's answer). Error messages are worded for a request body.
  static domain::result<json_body, json_error> parse(std::string_view text,
                                                     const json_limits& limits = {});
  /// The same rules for a JSON array whose every element is an object (a partner's batch,
  /// e.g. GitHub's secret scanning reports): each element as a json_body of its own, in order.
  static domain::result<std::vector<json_body>, json_error> parse_object_array(
      std::string_view text, const json_limits& limits = {});
  ~json_body();
  json_body(json_body&&) noexcept;
  json_body& operator=(json_body&&) noexcept;

  /// nullopt when absent; error when present with another type (null counts as another type).
  domain::result<std::optional<std::string>, json_error> get_string(std::string_view field) const;
  /// As get_string, without a copy: the view is valid while this json_body lives.
  domain::result<std::optional<std::string_view>, json_error> get_string_view(
      std::string_view field) const;
  domain::result<std::optional<std::vector<std::string>>, json_error> get_string_array(
      std::string_view field) const;
  domain::result<std::optional<bool>, json_error> get_bool(std::string_view field) const;
  domain::result<std::optional<std::int64_t>, json_error> get_int(std::string_view field) const;
  /// True when `field` is present with the value null (get_* report null as a type error).
  bool is_null(std::string_view field) const;
  /// nullopt when absent; error when present and not an object. The object is copied into a
  /// json_body of its own, so the getters and first_unknown_field work on its members.
  domain::result<std::optional<json_body>, json_error> get_object(std::string_view field) const;
  /// nullopt when absent; error when present and not an array, or when any element is not an
  /// object. Each element is copied into a json_body of its own, in order.
  domain::result<std::optional<std::vector<json_body>>, json_error> get_object_array(
      std::string_view field) const;

  /// The object as compact JSON text (members in their order, numbers as they were parsed):
  /// valid JSON by construction, for embedding with json_writer::value.
  std::string to_json() const;

  /// The first member whose name is not in `known`, if any (for "unknown field" errors).
  std::optional<std::string> first_unknown_field(
      std::initializer_list<std::string_view> known) const;

  /// The parsed document (opaque: RapidJSON stays in infra/json).
  struct impl;

 private:
  /// Keeps one parsed document's storage per thread for the next parse (a request body is
  /// parsed on every verification: no allocation for it), frees any other.
  struct impl_deleter {
    void operator()(impl* p) const noexcept;
  };
  using impl_ptr = std::unique_ptr<impl, impl_deleter>;
  static impl_ptr new_impl();
  explicit json_body(impl_ptr p);
  impl_ptr impl_;
};

/// A small streaming JSON writer (RFC 8259 escaping; output is valid UTF-8 if inputs are).
/// Commas are inserted automatically.
class json_writer {
 public:
  /// The text starts with room for a typical answer: a buffer an earlier answer on this thread
  /// gave back (buffer_pool; the HTTP server gives each body back once written), or one
  /// allocation, not one per doubling.
  json_writer() : out_(buffer_pool::take(initial_capacity)) {}
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& string(std::string_view v);
  json_writer& number(std::int64_t v);
  json_writer& number(std::uint64_t v);
  json_writer& boolean(bool v);
  json_writer& null();
  /// `t` as an RFC 3339 string (domain::format_timestamp), written in place.
  json_writer& timestamp(domain::timestamp t);
  /// Writes an already-validated JSON object (json_body::to_json) as the next value.
  json_writer& value(const json_body& v);
  /// Shorthands for key(k).value(v).
  json_writer& field(std::string_view k, std::string_view v) { return key(k).string(v); }
  json_writer& field(std::string_view k, const char* v) { return key(k).string(v); }
  json_writer& field(std::string_view k, bool v) { return key(k).boolean(v); }
  json_writer& field(std::string_view k, std::int64_t v) { return key(k).number(v); }
  json_writer& field(std::string_view k, std::uint64_t v) { return key(k).number(v); }

  const std::string& str() const noexcept { return out_; }
  std::string take() noexcept { return std::move(out_); }

 private:
  static constexpr std::size_t initial_capacity = 512;
  void separate();
  void open_container();
  void close_container();
  std::string out_;
  // Per open container, whether no member was written yet: a bit per level for the first 64
  // levels (no allocation), the rest in `deeper_`.
  std::uint64_t first_bits_ = 0;
  std::size_t depth_ = 0;
  std::vector<bool> deeper_;
  bool after_key_ = false;
};

// ---- common fields ------------------------------------------------------------------------

/// Writes `name` with `t` as an RFC 3339 string (domain::format_timestamp).
void write_timestamp(json_writer& w, std::string_view name, domain::timestamp t);

/// Writes `name` with `t` as an RFC 3339 string, or null when `t` is empty.
void write_timestamp_or_null(json_writer& w, std::string_view name,
                             const std::optional<domain::timestamp>& t);

/// Writes `name` with an array of `values` (an empty array when there are none).
void write_string_array(json_writer& w, std::string_view name,
                        const std::vector<std::string>& values);

/// Writes `name` with `value`, or null when `value` is "" (the domain's "none").
void write_string_or_null(json_writer& w, std::string_view name, const std::string& value);

}  // namespace keyledger::infra

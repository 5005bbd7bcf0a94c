#include "infra/json/detail/payload_reader.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyledger::infra::detail {
namespace {

using namespace std::string_literals;

// 2026-11-23T19:36:02.123456Z
const domain::timestamp t1 = domain::timestamp{std::chrono::microseconds{1795462562123456}};
constexpr std::string_view t1_text = "2026-11-23T19:36:02.123456Z";

// Parses `json`, which the test expects to be one object, and keeps the document alive for the
// reader that points into it.
struct parsed {
  explicit parsed(std::string_view json) { ok = parse_payload_object(json, document); }
  payload_document document;
  const rapidjson::Value& doc = document.doc();
  bool ok = false;
};

// ---- parse_payload_object ---------------------------------------------------------------------

TEST(parse_payload_object, accepts_one_object_with_surrounding_whitespace) {
  EXPECT_TRUE(parsed(R"({"a":1})").ok);
  EXPECT_TRUE(parsed(" \n{}\t ").ok);
}

TEST(parse_payload_object, refuses_empty_and_whitespace_only) {
  EXPECT_FALSE(parsed("").ok);
  EXPECT_FALSE(parsed(std::string_view{}).ok);
  EXPECT_FALSE(parsed("   ").ok);
}

TEST(parse_payload_object, refuses_anything_but_an_object) {
  EXPECT_FALSE(parsed("[]").ok);
  EXPECT_FALSE(parsed("\"text\"").ok);
  EXPECT_FALSE(parsed("null").ok);
  EXPECT_FALSE(parsed("42").ok);
}

TEST(parse_payload_object, refuses_trailing_bytes) {
  EXPECT_FALSE(parsed("{}{}").ok);
  EXPECT_FALSE(parsed("{} x").ok);
  EXPECT_FALSE(parsed(R"({"a":1)").ok);
}

TEST(parse_payload_object, refuses_a_nul_byte_anywhere) {
  EXPECT_FALSE(parsed("{}\0"s).ok);
  EXPECT_FALSE(parsed("\0{}"s).ok);
  EXPECT_FALSE(parsed("{\"a\":\"x\0y\"}"s).ok);
}

TEST(parse_payload_object, refuses_invalid_utf8) {
  EXPECT_FALSE(parsed("{\"a\":\"\xC3\x28\"}").ok);
  EXPECT_FALSE(parsed("{\"\xFF\":1}").ok);
  EXPECT_TRUE(parsed("{\"a\":\"\xC3\xA9\"}").ok);
}

TEST(parse_payload_object, deep_nesting_does_not_exhaust_the_stack) {
  // The iterative parser keeps its own stack: 100000 levels either parse or fail, never crash.
  const std::size_t depth = 100000;
  const std::string deep = "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  EXPECT_TRUE(parsed(deep).ok);
  const std::string unbalanced = "{\"a\":" + std::string(depth, '[') + "}";
  EXPECT_FALSE(parsed(unbalanced).ok);
}

TEST(parse_payload_object, a_payload_bigger_than_the_inline_buffers_parses_whole) {
  // payload_document's own buffers hold a few KiB; more spills over to the heap.
  std::string big = "{\"s\":\"" + std::string(100000, 'x') + "\",\"list\":[";
  for (int i = 0; i < 2000; ++i) big += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  big += "]}";
  parsed p(big);
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.string("s"), std::string(100000, 'x'));
  const auto list = r.string_array("list");
  ASSERT_EQ(list.size(), 2000u);
  EXPECT_EQ(list.back(), "1999");
  EXPECT_TRUE(r.ok());
}

// ---- field_reader: presence, repetition, hooks ------------------------------------------------

TEST(field_reader, a_fresh_reader_is_ok_and_ignores_members_nobody_reads) {
  parsed p(R"({"a":"x","unknown":[1,{"b":null}]})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.string("a"), "x");
  EXPECT_TRUE(r.ok());
}

TEST(field_reader, has_is_true_for_any_present_value_including_null) {
  parsed p(R"({"n":null,"s":"x"})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_TRUE(r.has("n"));
  EXPECT_TRUE(r.has("s"));
  EXPECT_FALSE(r.has("missing"));
  EXPECT_TRUE(r.ok());
}

TEST(field_reader, member_returns_the_value_or_nullptr_when_absent) {
  parsed p(R"({"a":7})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  const rapidjson::Value* v = r.member("a");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->GetInt(), 7);
  EXPECT_EQ(r.member("b"), nullptr);
  EXPECT_TRUE(r.ok());
}

TEST(field_reader, a_repeated_member_is_ambiguous_and_fails) {
  parsed p(R"({"a":"x","a":"y"})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.member("a"), nullptr);
  EXPECT_FALSE(r.ok());
}

TEST(field_reader, a_repeated_member_fails_even_for_optional_getters) {
  parsed p(R"({"a":null,"a":null})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.opt_string_or_null("a"), std::nullopt);
  EXPECT_FALSE(r.ok());
}

TEST(field_reader, fail_hooks_mark_the_reader_failed_for_good) {
  parsed p(R"({"a":"x"})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  r.fail();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.string("a"), "x");  // later getters still read, but cannot make it ok again
  EXPECT_FALSE(r.ok());

  field_reader r2(p.doc);
  EXPECT_EQ(r2.fail<int>(), 0);
  EXPECT_FALSE(r2.ok());
}

// ---- field_reader: strings ------------------------------------------------------------------

TEST(field_reader, string_is_required_and_must_be_a_string) {
  parsed p(R"({"s":"v","n":1,"z":null})");
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.string("s"), "v");
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"n", "z", "missing"}) {
    field_reader r(p.doc);
    EXPECT_EQ(r.string(name), "") << name;
    EXPECT_FALSE(r.ok()) << name;
  }
}

TEST(field_reader, string_keeps_embedded_escaped_nul) {
  parsed p(R"({"s":"a\u0000b"})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.string("s"), "a\0b"s);
  EXPECT_TRUE(r.ok());
}

TEST(field_reader, opt_string_accepts_absent_but_not_null) {
  parsed p(R"({"s":"v","z":null})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.opt_string("s"), "v");
  EXPECT_EQ(r.opt_string("missing"), std::nullopt);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.opt_string("z"), std::nullopt);
  EXPECT_FALSE(r.ok());
}

TEST(field_reader, opt_string_or_null_reads_null_as_absent) {
  parsed p(R"({"s":"v","z":null,"n":false})");
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.opt_string_or_null("s"), "v");
  EXPECT_EQ(r.opt_string_or_null("z"), std::nullopt);
  EXPECT_EQ(r.opt_string_or_null("missing"), std::nullopt);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.opt_string_or_null("n"), std::nullopt);
  EXPECT_FALSE(r.ok());
}

TEST(field_reader, nullable_string_must_be_present_but_may_be_null) {
  parsed p(R"({"s":"v","z":null,"n":false})");
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.nullable_string("s"), "v");
    EXPECT_EQ(r.nullable_string("z"), std::nullopt);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"missing", "n"}) {
    field_reader r(p.doc);
    EXPECT_EQ(r.nullable_string(name), std::nullopt) << name;
    EXPECT_FALSE(r.ok()) << name;
  }
}

TEST(field_reader, string_array_reads_strings_only) {
  parsed p(R"({"a":["x","y"],"e":[],"mixed":["x",1],"s":"x"})");
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.string_array("a"), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(r.string_array("e"), std::vector<std::string>{});
    EXPECT_EQ(r.opt_string_array("missing"), std::nullopt);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"mixed", "s", "missing"}) {
    field_reader r(p.doc);
    EXPECT_TRUE(r.string_array(name).empty()) << name;
    EXPECT_FALSE(r.ok()) << name;
  }
}

// ---- field_reader: booleans and numbers ------------------------------------------------------

TEST(field_reader, booleans_must_be_true_or_false) {
  parsed p(R"({"t":true,"f":false,"n":1,"s":"true"})");
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_TRUE(r.boolean("t"));
    EXPECT_EQ(r.opt_bool("f"), false);
    EXPECT_EQ(r.opt_bool("missing"), std::nullopt);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"n", "s", "missing"}) {
    field_reader r(p.doc);
    r.boolean(name);
    EXPECT_FALSE(r.ok()) << name;
  }
}

TEST(field_reader, integer_reads_any_int64_and_nothing_else) {
  parsed p(R"({"min":-9223372036854775808,"max":9223372036854775807,"big":9223372036854775808,)"
           R"("f":1.5,"s":"1"})");
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.integer("min"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(r.integer("max"), std::numeric_limits<std::int64_t>::max());
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"big", "f", "s", "missing"}) {
    field_reader r(p.doc);
    EXPECT_EQ(r.integer(name), 0) << name;
    EXPECT_FALSE(r.ok()) << name;
  }
}

TEST(field_reader, uint32_refuses_negative_and_too_large) {
  parsed p(R"({"zero":0,"max":4294967295,"over":4294967296,"neg":-1})");
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.uint32("zero"), 0u);
    EXPECT_EQ(r.uint32("max"), 4294967295u);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"over", "neg", "missing"}) {
    field_reader r(p.doc);
    EXPECT_EQ(r.uint32(name), 0u) << name;
    EXPECT_FALSE(r.ok()) << name;
  }
}

// ---- field_reader: timestamps ----------------------------------------------------------------

std::string timestamps_json() {
  return R"({"t":")" + std::string(t1_text) + R"(","z":null,"bad":"2026-13-01T00:00:00Z","n":1})";
}

TEST(field_reader, timestamp_is_required_rfc3339_and_not_null) {
  parsed p(timestamps_json());
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.timestamp("t"), t1);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"z", "bad", "n", "missing"}) {
    field_reader r(p.doc);
    r.timestamp(name);
    EXPECT_FALSE(r.ok()) << name;
  }
}

TEST(field_reader, opt_timestamp_or_null_accepts_absent_and_null) {
  parsed p(timestamps_json());
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.opt_timestamp_or_null("t"), t1);
    EXPECT_EQ(r.opt_timestamp_or_null("z"), std::nullopt);
    EXPECT_EQ(r.opt_timestamp_or_null("missing"), std::nullopt);
    EXPECT_EQ(r.opt_timestamp_or_null("missing", false), std::nullopt);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"bad", "n"}) {
    field_reader r(p.doc);
    r.opt_timestamp_or_null(name);
    EXPECT_FALSE(r.ok()) << name;
  }
  field_reader r(p.doc);
  r.opt_timestamp_or_null("z", false);
  EXPECT_FALSE(r.ok());
}

TEST(field_reader, nullable_timestamp_must_be_present_but_may_be_null) {
  parsed p(timestamps_json());
  ASSERT_TRUE(p.ok);
  {
    field_reader r(p.doc);
    EXPECT_EQ(r.nullable_timestamp("t"), t1);
    EXPECT_EQ(r.nullable_timestamp("z"), std::nullopt);
    EXPECT_TRUE(r.ok());
  }
  for (const char* name : {"missing", "bad", "n"}) {
    field_reader r(p.doc);
    EXPECT_EQ(r.nullable_timestamp(name), std::nullopt) << name;
    EXPECT_FALSE(r.ok()) << name;
  }
}

// ---- writers ---------------------------------------------------------------------------------

template <class Write>
std::string written(Write write) {
  json_writer w;
  w.begin_object();
  write(w);
  w.end_object();
  return w.take();
}

TEST(payload_writers, timestamps_are_rfc3339_strings_or_null) {
  EXPECT_EQ(written([](json_writer& w) { write_timestamp(w, "at", t1); }),
            R"({"at":")" + std::string(t1_text) + R"("})");
  EXPECT_EQ(written([](json_writer& w) { write_timestamp_or_null(w, "at", t1); }),
            R"({"at":")" + std::string(t1_text) + R"("})");
  EXPECT_EQ(written([](json_writer& w) { write_timestamp_or_null(w, "at", std::nullopt); }),
            R"({"at":null})");
}

TEST(payload_writers, string_arrays_keep_order_and_may_be_empty) {
  EXPECT_EQ(written([](json_writer& w) {
              write_string_array(w, "a", {"y", "x"});
            }),
            R"({"a":["y","x"]})");
  EXPECT_EQ(written([](json_writer& w) { write_string_array(w, "a", {}); }), R"({"a":[]})");
}

TEST(payload_writers, an_empty_string_is_written_as_null) {
  EXPECT_EQ(written([](json_writer& w) { write_string_or_null(w, "u", "https://x"); }),
            R"({"u":"https://x"})");
  EXPECT_EQ(written([](json_writer& w) { write_string_or_null(w, "u", ""); }), R"({"u":null})");
}

TEST(payload_writers, what_they_write_reads_back) {
  const std::string json = written([](json_writer& w) {
    write_timestamp(w, "t", t1);
    write_timestamp_or_null(w, "z", std::nullopt);
    write_string_array(w, "a", {"x"});
    write_string_or_null(w, "u", "");
  });
  parsed p(json);
  ASSERT_TRUE(p.ok);
  field_reader r(p.doc);
  EXPECT_EQ(r.timestamp("t"), t1);
  EXPECT_EQ(r.nullable_timestamp("z"), std::nullopt);
  EXPECT_EQ(r.string_array("a"), std::vector<std::string>{"x"});
  EXPECT_EQ(r.opt_string_or_null("u"), std::nullopt);
  EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace keyledger::infra::detail

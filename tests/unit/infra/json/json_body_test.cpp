#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

// The parse error message, or "" if the body parsed.
std::string parse_error(std::string_view text, const json_limits& limits = {}) {
  auto r = json_body::parse(text, limits);
  return r.ok() ? std::string{} : r.error().message;
}

json_body parse_ok(std::string_view text) {
  auto r = json_body::parse(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

// ---- accepted bodies ------------------------------------------------------------------------

TEST(json_body, reads_typed_fields) {
  const json_body b =
      parse_ok(R"({"name":"ci-deploy","environment":"live","scopes":["leads:read","leads:write"],)"
               R"("enabled":true,"ttl_days":90,"neg":-5})");
  EXPECT_EQ(b.get_string("name").value(), std::optional<std::string>("ci-deploy"));
  EXPECT_EQ(b.get_string("environment").value(), std::optional<std::string>("live"));
  EXPECT_EQ(b.get_string_array("scopes").value(),
            (std::optional<std::vector<std::string>>{{"leads:read", "leads:write"}}));
  EXPECT_EQ(b.get_bool("enabled").value(), std::optional<bool>(true));
  EXPECT_EQ(b.get_int("ttl_days").value(), std::optional<std::int64_t>(90));
  EXPECT_EQ(b.get_int("neg").value(), std::optional<std::int64_t>(-5));
}

TEST(json_body, absent_fields_are_nullopt) {
  const json_body b = parse_ok("{}");
  EXPECT_EQ(b.get_string("name").value(), std::nullopt);
  EXPECT_EQ(b.get_string_array("scopes").value(), std::nullopt);
  EXPECT_EQ(b.get_bool("enabled").value(), std::nullopt);
  EXPECT_EQ(b.get_int("n").value(), std::nullopt);
}

TEST(json_body, accepts_surrounding_whitespace_and_unicode) {
  const json_body b =
      parse_ok(" \t\r\n{ \"name\" : \"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\" } \n\t ");
  EXPECT_EQ(b.get_string("name").value(),
            std::optional<std::string>("caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80"));
}

TEST(json_body, empty_array_and_int64_extremes) {
  const json_body b = parse_ok(R"({"a":[],"max":9223372036854775807,"min":-9223372036854775808})");
  EXPECT_EQ(b.get_string_array("a").value(),
            std::optional<std::vector<std::string>>(std::vector<std::string>{}));
  EXPECT_EQ(b.get_int("max").value(), std::optional<std::int64_t>(INT64_MAX));
  EXPECT_EQ(b.get_int("min").value(), std::optional<std::int64_t>(INT64_MIN));
}

TEST(json_body, given_bodies_parsed_and_destroyed_in_turn_then_each_reads_its_own_text) {
  // A destroyed body's storage serves the thread's next parse: a live body must never see it.
  auto kept = json_body::parse(R"({"key":"kept-value","n":1})");
  ASSERT_TRUE(kept);
  for (int i = 0; i < 5; ++i) {
    const std::string text = R"({"key":"value-)" + std::to_string(i) + R"(","nested":{"a":"b"}})";
    auto body = json_body::parse(text);
    ASSERT_TRUE(body);
    auto nested = body->get_object("nested");
    ASSERT_TRUE(nested);
    ASSERT_TRUE(nested.value());
    EXPECT_EQ(nested.value()->get_string("a").value(), "b");
    EXPECT_EQ(body->get_string_view("key").value(), "value-" + std::to_string(i));
  }
  EXPECT_EQ(kept->get_string_view("key").value(), "kept-value");
  EXPECT_EQ(kept->get_int("n").value(), 1);
  // A failed parse gives nothing back and leaves the next one whole.
  EXPECT_FALSE(json_body::parse(R"({"key":)"));
  auto after = json_body::parse(R"({"key":"after"})");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_string("key").value(), "after");
}

TEST(json_body, get_string_view_reports_absent_and_wrong_types_like_get_string) {
  auto body = json_body::parse(R"({"s":"text","n":3})");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->get_string_view("s").value(), "text");
  EXPECT_FALSE(body->get_string_view("absent").value().has_value());
  EXPECT_FALSE(body->get_string_view("n"));
  EXPECT_EQ(body->get_string_view("n").error().message, body->get_string("n").error().message);
}

TEST(json_body, is_movable) {
  json_body a = parse_ok(R"({"name":"x"})");
  json_body b = std::move(a);
  EXPECT_EQ(b.get_string("name").value(), std::optional<std::string>("x"));
  a = parse_ok(R"({"name":"y"})");
  EXPECT_EQ(a.get_string("name").value(), std::optional<std::string>("y"));
}

// ---- rejected bodies ------------------------------------------------------------------------

TEST(json_body, rejects_invalid_json) {
  EXPECT_EQ(parse_error("{"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"a":})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({'a':1})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"a":1,})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"a":01})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"a":NaN})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error("{\"a\":\"\n\"}"), "request body is not valid JSON");  // raw control
  EXPECT_EQ(parse_error(R"({"a":"\x"})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"a":1e999})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"a":"\ud800"})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error("{/*c*/}"), "request body is not valid JSON");
}

TEST(json_body, rejects_empty_body) {
  EXPECT_EQ(parse_error(""), "request body is empty");
  EXPECT_EQ(parse_error("  \n"), "request body is empty");
}

TEST(json_body, rejects_trailing_bytes) {
  EXPECT_EQ(parse_error(R"({"a":1}x)"), "request body has data after the JSON value");
  EXPECT_EQ(parse_error(R"({"a":1} {"b":2})"), "request body has data after the JSON value");
  EXPECT_EQ(parse_error("{}\n}"), "request body has data after the JSON value");
  EXPECT_EQ(parse_error("{}\v"), "request body has data after the JSON value");
}

TEST(json_body, rejects_embedded_nul_anywhere) {
  using namespace std::string_literals;
  EXPECT_EQ(parse_error("{}\0"s), "request body must not contain NUL bytes");
  EXPECT_EQ(parse_error("{}\0garbage"s), "request body must not contain NUL bytes");
  EXPECT_EQ(parse_error("{\"a\":\"x\0y\"}"s), "request body must not contain NUL bytes");
  EXPECT_EQ(parse_error("\0{}"s), "request body must not contain NUL bytes");
  // An escaped NUL decodes to a NUL inside a string: refused as well.
  EXPECT_EQ(parse_error(R"({"a":"x\u0000y"})"), "JSON strings must not contain NUL characters");
  EXPECT_EQ(parse_error(R"({"a\u0000":1})"), "JSON strings must not contain NUL characters");
}

TEST(json_body, rejects_invalid_utf8) {
  EXPECT_EQ(parse_error("{\"a\":\"\xff\"}"), "request body is not valid UTF-8");
  EXPECT_EQ(parse_error("{\"a\":\"\xc3\"}"), "request body is not valid UTF-8");      // truncated
  EXPECT_EQ(parse_error("{\"a\":\"\xc0\xaf\"}"), "request body is not valid UTF-8");  // overlong
  EXPECT_EQ(parse_error("{\"a\":\"\xed\xa0\x80\"}"),
            "request body is not valid UTF-8");  // surrogate
  EXPECT_EQ(parse_error("{\"\xfe\":1}"), "request body is not valid UTF-8");
  // An unpaired low surrogate escape would decode to the same invalid bytes.
  EXPECT_EQ(parse_error(R"({"a":"\udc00"})"), "request body is not valid UTF-8");
}

TEST(json_body, rejects_non_objects) {
  for (const char* text : {"[]", "[1,2]", "1", "\"s\"", "true", "null"}) {
    EXPECT_EQ(parse_error(text), "request body must be a JSON object") << text;
  }
}

TEST(json_body, depth_limit) {
  json_limits limits;
  limits.max_depth = 3;
  EXPECT_EQ(parse_error(R"({"a":{"b":[1]}})", limits), "");
  EXPECT_EQ(parse_error(R"({"a":{"b":[[1]]}})", limits), "JSON nesting too deep");
  EXPECT_EQ(parse_error(R"({"a":{"b":{"c":{}}}})", limits), "JSON nesting too deep");
  // The default allows 8 levels.
  EXPECT_EQ(parse_error(R"({"a":[[[[[[[1]]]]]]]})"), "");
  EXPECT_EQ(parse_error(R"({"a":[[[[[[[[1]]]]]]]]})"), "JSON nesting too deep");
}

TEST(json_body, deep_nesting_is_refused_fast_and_without_crashing) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(parse_error(repeat("[", 1'000'000)), "JSON nesting too deep");
  EXPECT_EQ(parse_error(repeat("[", 10000) + repeat("]", 10000)), "JSON nesting too deep");
  EXPECT_EQ(parse_error(repeat("{\"a\":", 10000) + "1" + repeat("}", 10000)),
            "JSON nesting too deep");
  // Even with the limit lifted the parser is iterative: no stack overflow.
  json_limits unlimited;
  unlimited.max_depth = 1'000'000;
  unlimited.max_members = 1'000'000;
  EXPECT_EQ(parse_error("{\"a\":" + repeat("[", 100000) + repeat("]", 100000) + "}", unlimited),
            "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(json_body, string_length_limit_covers_values_and_names) {
  json_limits limits;
  limits.max_string = 8;
  EXPECT_EQ(parse_error(R"({"a":"12345678"})", limits), "");
  EXPECT_EQ(parse_error(R"({"a":"123456789"})", limits), "JSON string too long");
  EXPECT_EQ(parse_error(R"({"123456789":1})", limits), "JSON string too long");
  EXPECT_EQ(parse_error(R"({"a":["x","123456789"]})", limits), "JSON string too long");
  // Length is measured after unescaping: 8 escaped characters are 8 bytes.
  EXPECT_EQ(parse_error(R"({"a":"\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041"})", limits), "");
  // Default: 4096 bytes.
  EXPECT_EQ(parse_error("{\"a\":\"" + std::string(4096, 'x') + "\"}"), "");
  EXPECT_EQ(parse_error("{\"a\":\"" + std::string(4097, 'x') + "\"}"), "JSON string too long");
}

TEST(json_body, array_length_limit) {
  json_limits limits;
  limits.max_array = 3;
  EXPECT_EQ(parse_error(R"({"a":[1,2,3]})", limits), "");
  EXPECT_EQ(parse_error(R"({"a":[1,2,3,4]})", limits), "JSON array has too many elements");
  EXPECT_EQ(parse_error(R"({"a":[[],{},[],{}]})", limits), "JSON array has too many elements");
  EXPECT_EQ(parse_error(R"({"a":[[1,2,3],[1,2,3,4]]})", limits),
            "JSON array has too many elements");
  // A huge array stops at the limit, not at the end.
  EXPECT_EQ(parse_error("{\"a\":[" + repeat("1,", 500000) + "1]}"),
            "JSON array has too many elements");
}

TEST(json_body, member_count_limit) {
  json_limits limits;
  limits.max_members = 2;
  EXPECT_EQ(parse_error(R"({"a":1,"b":2})", limits), "");
  EXPECT_EQ(parse_error(R"({"a":1,"b":2,"c":3})", limits), "JSON object has too many members");
  EXPECT_EQ(parse_error(R"({"a":{"x":1,"y":2,"z":3}})", limits),
            "JSON object has too many members");
  std::string many = "{";
  for (int i = 0; i < 65; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  many += "}";
  EXPECT_EQ(parse_error(many), "JSON object has too many members");
}

TEST(json_body, rejects_duplicate_member_names) {
  EXPECT_EQ(parse_error(R"({"name":"a","name":"b"})"), "duplicate field 'name'");
  EXPECT_EQ(parse_error(R"({"a":1,"b":2,"a":1})"), "duplicate field 'a'");
  EXPECT_EQ(parse_error(R"({"o":{"x":1,"x":2}})"), "duplicate field 'x'");
  EXPECT_EQ(parse_error(R"({"o":[{"x":1},{"y":1,"y":2}]})"), "duplicate field 'y'");
  // The same name in different objects is fine.
  EXPECT_EQ(parse_error(R"({"x":{"x":1},"y":[{"x":1},{"x":2}]})"), "");
  // A name that is not plain is not echoed.
  EXPECT_EQ(parse_error(R"({"<script>":1,"<script>":2})"), "duplicate field in JSON object");
  // Escapes are compared after decoding.
  EXPECT_EQ(parse_error(R"({"ab":1,"a\u0062":2})"), "duplicate field 'ab'");
}

// ---- typed accessors ------------------------------------------------------------------------

TEST(json_body, wrong_types_name_the_field_never_the_value) {
  const json_body b =
      parse_ok(R"({"name":12345,"scopes":"sekrit-scope","mixed":["a",7],"flag":"yes","n":"42",)"
               R"("f":1.5,"big":18446744073709551615,"whole":2.0,"nul":null,"obj":{"k":"v"}})");
  EXPECT_EQ(b.get_string("name").error().message, "field 'name' must be a string");
  EXPECT_EQ(b.get_string("nul").error().message, "field 'nul' must be a string");
  EXPECT_EQ(b.get_string("obj").error().message, "field 'obj' must be a string");
  EXPECT_EQ(b.get_string_array("scopes").error().message,
            "field 'scopes' must be an array of strings");
  EXPECT_EQ(b.get_string_array("mixed").error().message,
            "field 'mixed' must be an array of strings");
  EXPECT_EQ(b.get_bool("flag").error().message, "field 'flag' must be a boolean");
  EXPECT_EQ(b.get_bool("nul").error().message, "field 'nul' must be a boolean");
  EXPECT_EQ(b.get_int("n").error().message, "field 'n' must be an integer");
  EXPECT_EQ(b.get_int("f").error().message, "field 'f' must be an integer");
  EXPECT_EQ(b.get_int("whole").error().message, "field 'whole' must be an integer");
  EXPECT_EQ(b.get_int("big").error().message, "field 'big' is out of range");
  EXPECT_EQ(b.get_int("nul").error().message, "field 'nul' must be an integer");
  EXPECT_EQ(b.get_string_array("scopes").error().message.find("sekrit"), std::string::npos);
}

TEST(json_body, field_lookup_is_exact) {
  const json_body b = parse_ok(R"({"Name":"x","name2":"y"})");
  EXPECT_EQ(b.get_string("name").value(), std::nullopt);
  EXPECT_EQ(b.get_string("Name").value(), std::optional<std::string>("x"));
}

TEST(json_body, first_unknown_field) {
  const json_body b = parse_ok(R"({"name":"x","scopes":[],"colour":"red","size":1})");
  EXPECT_EQ(b.first_unknown_field({"name", "scopes"}), std::optional<std::string>("colour"));
  EXPECT_EQ(b.first_unknown_field({"name", "scopes", "colour"}),
            std::optional<std::string>("size"));
  EXPECT_EQ(b.first_unknown_field({"name", "scopes", "colour", "size"}), std::nullopt);
  EXPECT_EQ(parse_ok("{}").first_unknown_field({}), std::nullopt);
  EXPECT_EQ(b.first_unknown_field({}), std::optional<std::string>("name"));
}

}  // namespace
}  // namespace keyledger::infra

namespace keyledger::infra {
namespace {

// Found by tests/fuzz json_body (corpus/json_body/regression_long_number): a number too long for
// an integer was rounded to a neighbouring double, and to_json() wrote a number that parsed to
// yet another one. Correctly rounded, to_json() is a fixed point.
TEST(json_body, a_long_number_survives_to_json_unchanged) {
  const std::string text =
      R"({"name;":"ci deploy","envdays":15,"typ]":0,"allowedt":{"limi&t":92233720)"
      R"(36854751614200}})";
  auto once = json_body::parse(text);
  ASSERT_TRUE(once.ok()) << once.error().message;
  const auto compact = once.value().to_json();
  auto twice = json_body::parse(compact);
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  EXPECT_EQ(twice.value().to_json(), compact);
  EXPECT_NE(compact.find("9.223372036854752e21"), std::string::npos) << compact;
}

// Found by tests/fuzz json_body (corpus/json_body/regression_underflow_nan): with full-precision
// parsing RapidJSON read 1e-324 as NaN, and to_json() stopped mid-text. Refused.
TEST(json_body, a_number_read_as_nan_is_refused) {
  const auto r = json_body::parse(R"({"":[1e-324]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "JSON number out of range");
  auto tiny = json_body::parse(R"({"a":5e-324,"b":1e-400})");
  ASSERT_TRUE(tiny.ok()) << tiny.error().message;
  EXPECT_TRUE(json_body::parse(tiny.value().to_json()).ok()) << tiny.value().to_json();
}

// Found by tests/fuzz event_codecs: an empty view with a null data() reached memchr (undefined
// even for 0 bytes). It is refused as an empty body, as "" is.
TEST(json_body, an_empty_view_without_data_is_refused_as_empty) {
  const auto r = json_body::parse(std::string_view{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "request body is empty");
  EXPECT_FALSE(json_body::parse_object_array(std::string_view{}).ok());
}

TEST(json_body_array, an_array_of_objects_gives_each_object_in_order) {
  auto r = json_body::parse_object_array(R"( [{"token":"a","n":1}, {"token":"b"}] )");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r.value()[0].get_string("token").value(), std::optional<std::string>("a"));
  EXPECT_EQ(r.value()[0].get_int("n").value(), std::optional<std::int64_t>(1));
  EXPECT_EQ(r.value()[1].get_string("token").value(), std::optional<std::string>("b"));
  EXPECT_EQ(r.value()[1].first_unknown_field({"token"}), std::nullopt);
  auto empty = json_body::parse_object_array("[]");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(json_body_array, anything_else_is_refused_with_the_object_rules) {
  json_limits two;
  two.max_array = 2;
  for (const char* bad : {R"({"token":"a"})", R"(["a"])", R"([{"a":1}, 2])", R"([[{}]])",
                          R"([{"a":1,"a":2}])", R"([{}] [])", "", "[", R"([{"a":"\u0000"}])"}) {
    EXPECT_FALSE(json_body::parse_object_array(bad).ok()) << bad;
  }
  EXPECT_FALSE(json_body::parse_object_array("[{},{},{}]", two).ok());
  EXPECT_TRUE(json_body::parse_object_array("[{},{}]", two).ok());
  // And an object body is still only an object.
  EXPECT_FALSE(json_body::parse("[{}]").ok());
}

}  // namespace
}  // namespace keyledger::infra

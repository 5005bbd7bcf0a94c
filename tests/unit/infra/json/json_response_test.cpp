// What a client (the CLI) needs to read a server's answer through the one parser entry:
// response_json_limits, get_object_array, to_json and json_writer::value.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

std::string parse_error(std::string_view text, const json_limits& limits) {
  auto r = json_body::parse(text, limits);
  return r.ok() ? std::string{} : r.error().message;
}

json_body parse_answer(std::string_view text) {
  auto r = json_body::parse(text, response_json_limits);
  EXPECT_TRUE(r.ok()) << r.error().message;
  if (!r.ok()) return std::move(json_body::parse("{}").value());
  return std::move(r).value();
}

// A key object as the server writes it (services/http/api_support.cpp), `i` in its id.
std::string key_json(int i) {
  const std::string n = std::to_string(i);
  return R"({"id":"key_)" + n + R"(","name":"k)" + n +
         R"(","start":"kl_test_Abcd","environment":"test","scopes":["keys:read","keys:write"],)"
         R"("effective_scopes":["keys:read"],"owner_user_id":null,"workspace_id":"ws_1",)"
         R"("enabled":true,"status":"active","disabled_reason":null,)"
         R"("created_at":"2026-11-23T19:36:02.123456Z","expires_at":null,"updated_at":null,)"
         R"("revoked_at":null,"allowed_cidrs":["10.0.0.0/8"],"postback_url":null,)"
         R"("off_the_record":false,"rate_limit":{"limit":100,"window_seconds":60},)"
         R"("rotated_from":null,"rotated_to":null,"last_used_at":null,"last_used_ip":null})";
}

std::string list_page(int keys, std::string_view next_cursor = "null") {
  std::string out = R"({"data":[)";
  for (int i = 0; i < keys; ++i) {
    if (i > 0) out += ',';
    out += key_json(i);
  }
  out += R"(],"next_cursor":)";
  out += next_cursor;
  out += '}';
  return out;
}

std::string array_of(std::size_t n) {
  std::string out = R"({"a":[)";
  for (std::size_t i = 0; i < n; ++i) out += i == 0 ? "0" : ",0";
  return out + "]}";
}

// ---- response_json_limits -------------------------------------------------------------------

TEST(response_json_limits, request_defaults_are_unchanged) {
  const json_limits request;
  EXPECT_EQ(request.max_depth, 8u);
  EXPECT_EQ(request.max_string, 4096u);
  EXPECT_EQ(request.max_array, 64u);
  EXPECT_EQ(request.max_members, 64u);
  EXPECT_EQ(parse_error(array_of(65), {}), "JSON array has too many elements");
}

TEST(response_json_limits, a_full_list_page_parses) {
  const json_body page = parse_answer(list_page(100, R"("cur_1")"));
  auto data = page.get_object_array("data");
  ASSERT_TRUE(data.ok()) << data.error().message;
  ASSERT_TRUE(data.value().has_value());
  EXPECT_EQ(data.value()->size(), 100u);
  EXPECT_EQ(page.get_string("next_cursor").value(), std::optional<std::string>("cur_1"));
}

TEST(response_json_limits, arrays_up_to_1000_elements) {
  EXPECT_EQ(parse_error(array_of(1000), response_json_limits), "");
  EXPECT_EQ(parse_error(array_of(1001), response_json_limits), "JSON array has too many elements");
}

TEST(response_json_limits, body_up_to_4_mib) {
  constexpr std::size_t cap = 4 * 1024 * 1024;
  std::string text = "{}";
  text.append(cap - text.size(), ' ');
  EXPECT_EQ(parse_error(text, response_json_limits), "");
  text.push_back(' ');
  EXPECT_EQ(parse_error(text, response_json_limits), "JSON text too long");
}

TEST(response_json_limits, max_bytes_applies_to_any_limits) {
  json_limits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(parse_error(R"({"a":"123"})", limits), "JSON text too long");  // 11 bytes
  EXPECT_EQ(parse_error(R"({"a":"12"})", limits), "");
}

TEST(response_json_limits, depth_is_still_capped) {
  std::string deep = R"({"a":)";
  for (int i = 0; i < 15; ++i) deep += '[';
  std::string ok = deep + "0";
  for (int i = 0; i < 15; ++i) ok += ']';
  ok += '}';
  EXPECT_EQ(parse_error(ok, response_json_limits), "");  // 16 levels
  std::string too_deep = deep + "[0]";
  for (int i = 0; i < 15; ++i) too_deep += ']';
  too_deep += '}';
  EXPECT_EQ(parse_error(too_deep, response_json_limits), "JSON nesting too deep");
}

TEST(response_json_limits, keeps_the_parse_rules_of_a_request) {
  const auto& l = response_json_limits;
  EXPECT_EQ(parse_error(R"({"a":1} x)", l), "request body has data after the JSON value");
  EXPECT_EQ(parse_error(R"({"a":1}{})", l), "request body has data after the JSON value");
  EXPECT_EQ(parse_error(std::string_view("{\"a\":1}\0", 8), l),
            "request body must not contain NUL bytes");
  EXPECT_EQ(parse_error(R"({"a":"\u0000"})", l), "JSON strings must not contain NUL characters");
  EXPECT_EQ(parse_error("{\"a\":\"\xff\"}", l), "request body is not valid UTF-8");
  EXPECT_EQ(parse_error(R"({"a":"\udc00"})", l), "request body is not valid UTF-8");
  EXPECT_EQ(parse_error(R"([{"a":1}])", l), "request body must be a JSON object");
  EXPECT_EQ(parse_error(R"({"a":1,"a":2})", l), "duplicate field 'a'");
  EXPECT_EQ(parse_error(R"({"data":[{"id":1,"id":2}]})", l), "duplicate field 'id'");
  EXPECT_EQ(parse_error("<html>Bad Gateway</html>", l), "request body is not valid JSON");
  EXPECT_EQ(parse_error("", l), "request body is empty");
}

// ---- get_object_array -----------------------------------------------------------------------

TEST(json_body_get_object_array, absent_is_nullopt) {
  const json_body b = parse_answer(R"({"other":[]})");
  auto r = b.get_object_array("data");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().has_value());
}

TEST(json_body_get_object_array, empty_array_is_empty) {
  const json_body b = parse_answer(R"({"data":[]})");
  auto r = b.get_object_array("data");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.value().has_value());
  EXPECT_TRUE(r.value()->empty());
}

TEST(json_body_get_object_array, other_types_are_errors) {
  for (const std::string_view text :
       {R"({"data":null})", R"({"data":{}})", R"({"data":"x"})", R"({"data":3})",
        R"({"data":[{},1]})", R"({"data":[{},null]})", R"({"data":[[]]})", R"({"data":["x"]})"}) {
    const json_body b = parse_answer(text);
    auto r = b.get_object_array("data");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().message, "field 'data' must be an array of objects") << text;
  }
}

TEST(json_body_get_object_array, elements_in_order_with_their_members) {
  json_body owner = parse_answer(list_page(3));
  auto r = owner.get_object_array("data");
  ASSERT_TRUE(r.ok() && r.value().has_value());
  // The elements are copies: they outlive the answer they came from.
  { json_body gone = std::move(owner); }
  const std::vector<json_body>& keys = *r.value();
  ASSERT_EQ(keys.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const json_body& k = keys[static_cast<std::size_t>(i)];
    EXPECT_EQ(k.get_string("id").value(), std::optional<std::string>("key_" + std::to_string(i)));
    EXPECT_EQ(k.get_string_array("allowed_cidrs").value(),
              (std::optional<std::vector<std::string>>{{"10.0.0.0/8"}}));
    EXPECT_EQ(k.get_bool("enabled").value(), std::optional<bool>(true));
    EXPECT_TRUE(k.is_null("expires_at"));
    EXPECT_FALSE(k.get_string("expires_at").ok());  // null is not a string
    auto limit = k.get_object("rate_limit");
    ASSERT_TRUE(limit.ok() && limit.value().has_value());
    EXPECT_EQ(limit.value()->get_int("window_seconds").value(), std::optional<std::int64_t>(60));
    EXPECT_EQ(k.first_unknown_field({"id"}), std::optional<std::string>("name"));
  }
}

// ---- to_json and json_writer::value ---------------------------------------------------------

TEST(json_body_to_json, writes_the_object_back_compactly_in_order) {
  const std::string compact =
      R"({"z":1,"a":[true,false,null],"n":{"x":-5,"big":18446744073709551615},"s":"q\"\\"})";
  const json_body b = parse_answer(R"( { "z" : 1 , "a" : [ true, false, null ] ,
      "n" : { "x" : -5 , "big" : 18446744073709551615 } , "s" : "q\"\\" } )");
  EXPECT_EQ(b.to_json(), compact);
  // And what it writes parses to the same text again.
  EXPECT_EQ(parse_answer(b.to_json()).to_json(), compact);
}

TEST(json_body_to_json, keeps_numbers_and_text_as_parsed) {
  const json_body b = parse_answer(
      R"({"d":1.5,"e":-0.25,"f":2.0,"i":-9223372036854775808,"u":"caf\u00e9 \ud83d\ude00","c":"\u001b\n"})");
  EXPECT_EQ(b.to_json(),
            "{\"d\":1.5,\"e\":-0.25,\"f\":2.0,\"i\":-9223372036854775808,"
            "\"u\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"c\":\"\\u001B\\n\"}");
}

TEST(json_body_to_json, an_empty_object) { EXPECT_EQ(parse_answer(" {} ").to_json(), "{}"); }

TEST(json_writer_value, embeds_objects_as_array_elements_and_field_values) {
  const json_body a = parse_answer(R"({"id":"a","n":1})");
  const json_body b = parse_answer(R"({"id":"b","o":{}})");
  json_writer w;
  w.begin_object().key("data").begin_array().value(a).value(b).end_array();
  w.key("one").value(a).key("next_cursor").null().end_object();
  EXPECT_EQ(w.str(), R"({"data":[{"id":"a","n":1},{"id":"b","o":{}}],"one":{"id":"a","n":1},)"
                     R"("next_cursor":null})");
  EXPECT_TRUE(json_body::parse(w.str()).ok());
}

TEST(json_writer_value, combines_pages_into_one_list_answer) {
  // What `keys list --json --all` prints: every page's keys, and no further cursor.
  std::vector<json_body> keys;
  for (const std::string& page : {list_page(2, R"("c1")"), list_page(1)}) {
    auto data = parse_answer(page).get_object_array("data");
    ASSERT_TRUE(data.ok() && data.value().has_value());
    for (auto& k : *data.value()) keys.push_back(std::move(k));
  }
  json_writer w;
  w.begin_object().key("data").begin_array();
  for (const auto& k : keys) w.value(k);
  w.end_array().key("next_cursor").null().end_object();
  EXPECT_EQ(w.str(), R"({"data":[)" + key_json(0) + "," + key_json(1) + "," + key_json(0) +
                         R"(],"next_cursor":null})");
  const json_body combined = parse_answer(w.str());
  EXPECT_EQ(combined.get_object_array("data").value()->size(), 3u);
  EXPECT_TRUE(combined.is_null("next_cursor"));
}

}  // namespace
// Commas at every level, past the 64 levels tracked without allocating: [[...[1,2],3]...,3].
TEST(json_writer, separates_members_at_every_depth) {
  for (const int depth : {1, 63, 64, 65, 130}) {
    json_writer w;
    std::string expected;
    for (int i = 0; i < depth; ++i) {
      w.begin_array();
      expected += '[';
    }
    w.number(std::int64_t{1}).number(std::int64_t{2});
    expected += "1,2";
    for (int i = 0; i < depth; ++i) {
      w.end_array();
      expected += ']';
      if (i + 1 < depth) {
        w.number(std::int64_t{3});
        expected += ",3";
      }
    }
    EXPECT_EQ(w.str(), expected) << "depth " << depth;
  }
  json_writer o;
  o.begin_object().field("a", true).key("b").begin_object().field("c", "d").end_object();
  o.field("e", std::int64_t{5}).end_object();
  EXPECT_EQ(o.str(), R"({"a":true,"b":{"c":"d"},"e":5})");
}

}  // namespace keyledger::infra

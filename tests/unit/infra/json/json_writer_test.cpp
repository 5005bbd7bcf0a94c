#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <string>

#include "infra/json/json.hpp"

namespace keyledger::infra {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// Parses `json` with RapidJSON (validating UTF-8) and returns the string member "s".
std::string parse_back(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  EXPECT_FALSE(doc.HasParseError()) << json;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("s") || !doc["s"].IsString()) {
    return "<unparsable>";
  }
  return std::string(doc["s"].GetString(), doc["s"].GetStringLength());
}

TEST(append_json_string, escapes_quote_backslash_and_controls) {
  EXPECT_EQ(quoted(""), R"("")");
  EXPECT_EQ(quoted("plain"), R"("plain")");
  EXPECT_EQ(quoted("a\"b"), R"("a\"b")");
  EXPECT_EQ(quoted("a\\b"), R"("a\\b")");
  EXPECT_EQ(quoted("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(quoted(std::string_view("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(quoted("\x7f/"), "\"\x7f/\"");  // DEL and '/' need no escape
}

TEST(append_json_string, passes_utf8_through_and_escapes_line_separators) {
  EXPECT_EQ(quoted("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(quoted("a\xe2\x80\xa8"
                   "b\xe2\x80\xa9"
                   "c"),
            R"("a\u2028b\u2029c")");
  EXPECT_EQ(quoted("\xe2\x80\xa7"), "\"\xe2\x80\xa7\"");  // U+2027: not a separator
  EXPECT_EQ(quoted("\xe2\x80"), R"("\ufffd\ufffd")");     // truncated: not over-read, replaced
}

TEST(append_json_string, appends_to_existing_text) {
  std::string out = "prefix:";
  append_json_string(out, "x\ny");
  EXPECT_EQ(out, R"(prefix:"x\ny")");
}

TEST(append_json_string, every_byte_below_0x80_round_trips_through_a_parser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "caf\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80";
  std::string json = "{\"s\":";
  append_json_string(json, all);
  json += "}";
  EXPECT_EQ(parse_back(json), all);
}

TEST(json_writer, writes_nested_structures_with_commas) {
  json_writer w;
  w.begin_object()
      .field("a", "x")
      .field("b", std::int64_t{-1})
      .field("c", std::uint64_t{18446744073709551615ull})
      .field("d", true)
      .key("e")
      .null()
      .key("list")
      .begin_array()
      .number(std::int64_t{1})
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .begin_object()
      .field("k", false)
      .end_object()
      .string("s")
      .end_array()
      .key("empty")
      .begin_object()
      .end_object()
      .end_object();
  EXPECT_EQ(w.str(), R"({"a":"x","b":-1,"c":18446744073709551615,"d":true,"e":null,)"
                     R"("list":[1,{},[],{"k":false},"s"],"empty":{}})");
  rapidjson::Document doc;
  doc.Parse(w.str().c_str());
  EXPECT_FALSE(doc.HasParseError());
}

TEST(json_writer, top_level_array_and_int64_extremes) {
  json_writer w;
  w.begin_array()
      .number(std::int64_t{INT64_MIN})
      .number(std::int64_t{INT64_MAX})
      .number(std::uint64_t{0})
      .end_array();
  EXPECT_EQ(w.str(), "[-9223372036854775808,9223372036854775807,0]");
}

TEST(json_writer, escapes_keys_and_values) {
  json_writer w;
  w.begin_object().field("k\"ey", "va\\l\nue\x01").end_object();
  EXPECT_EQ(w.str(), R"({"k\"ey":"va\\l\nue\u0001"})");
}

TEST(json_writer, take_moves_the_text_out) {
  json_writer w;
  w.begin_object().field("a", std::string_view("b")).end_object();
  const std::string text = w.take();
  EXPECT_EQ(text, R"({"a":"b"})");
}

}  // namespace
}  // namespace keyledger::infra

namespace keyledger::infra {
namespace {

TEST(json_writer_timestamp, given_instants_then_it_writes_what_format_timestamp_writes_quoted) {
  using namespace std::chrono;
  for (const auto t : {domain::timestamp{}, domain::timestamp{microseconds(1'796'601'600'123'456)},
                       domain::timestamp{microseconds(-1)}}) {
    json_writer w;
    w.begin_object().key("at").timestamp(t);
    write_timestamp(w, "again", t);
    write_timestamp_or_null(w, "maybe", t);
    w.end_object();
    const std::string text = domain::format_timestamp(t);
    EXPECT_EQ(w.str(),
              R"({"at":")" + text + R"(","again":")" + text + R"(","maybe":")" + text + R"("})");
  }
}

}  // namespace
}  // namespace keyledger::infra

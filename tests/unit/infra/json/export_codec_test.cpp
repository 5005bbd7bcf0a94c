// The event line of an export: the exact stored bytes survive a round trip, the documented
// format is what is written, other kinds of lines are told apart and a damaged event line is
// refused.
#include "infra/json/export_codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace keyledger::infra {
namespace {

recorded_event sample() {
  recorded_event e;
  e.global_seq = 42;
  e.stream_id = "api_key-key_3hQ7mW0pZr9xKc2VbN5tLa";
  e.version = 3;
  for (std::size_t i = 0; i < e.event_id.size(); ++i)
    e.event_id[i] = static_cast<std::uint8_t>(i * 17);
  e.type = "KeyRevoked";
  e.payload =
      R"({"key_id":"key_3hQ7mW0pZr9xKc2VbN5tLa","revoked_at":"2026-11-24T08:00:00.000000Z"})";
  e.metadata = R"({"actor":"usr_0123456789ABCDEFGHIJKL","request_id":"req_1"})";
  e.recorded_at_us = 1'795'500'000'123'456;
  for (std::size_t i = 0; i < e.hash.size(); ++i) e.hash[i] = static_cast<std::uint8_t>(255 - i);
  return e;
}

bool same(const recorded_event& a, const recorded_event& b) {
  return a.global_seq == b.global_seq && a.stream_id == b.stream_id && a.version == b.version &&
         a.event_id == b.event_id && a.type == b.type && a.payload == b.payload &&
         a.metadata == b.metadata && a.recorded_at_us == b.recorded_at_us && a.hash == b.hash;
}

TEST(export_codec, writes_the_documented_line) {
  EXPECT_EQ(format_export_event_line(sample()),
            R"({"event":{"global_seq":42,"stream_id":"api_key-key_3hQ7mW0pZr9xKc2VbN5tLa",)"
            R"("version":3,"event_id":"00112233-4455-6677-8899-aabbccddeeff","type":"KeyRevoked",)"
            R"("payload":"{\"key_id\":\"key_3hQ7mW0pZr9xKc2VbN5tLa\",\"revoked_at\":)"
            R"(\"2026-11-24T08:00:00.000000Z\"}","metadata":"{\"actor\":)"
            R"(\"usr_0123456789ABCDEFGHIJKL\",\"request_id\":\"req_1\"}",)"
            R"("recorded_at_us":1795500000123456,)"
            R"("hash":"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"}})");
}

TEST(export_codec, the_exact_stored_bytes_come_back) {
  auto e = sample();
  // Whitespace, escapes, a control character, non-ASCII and a member order no writer of ours
  // uses: a payload is bytes to be hashed, never normalised.
  e.payload = "{ \"name\" : \"caf\xc3\xa9 \\\"x\\\"\\n\x01\t\xf0\x9f\x94\x91\",\n\"a\":1 }";
  e.metadata = "{}";
  e.recorded_at_us = -5;
  const auto line = format_export_event_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  const auto back = parse_export_event_line(line);
  ASSERT_TRUE(back);
  EXPECT_TRUE(same(*back, e));
  EXPECT_EQ(back->payload, e.payload);
}

TEST(export_codec, other_kinds_of_line_are_told_apart) {
  EXPECT_EQ(kind_of_export_line(format_export_event_line(sample())), export_line_kind::event);
  EXPECT_EQ(kind_of_export_line(R"({"format":"keyledger-audit-export/1"})"),
            export_line_kind::header);
  EXPECT_EQ(kind_of_export_line(R"({"checkpoint":{"tree_size":10,"note":"x\ny"}})"),
            export_line_kind::checkpoint);
  for (const std::string line : {R"({"format":"keyledger-audit-export/1"})",
                                 R"({"checkpoint":{"tree_size":10,"note":"x\ny"}})", "", "[1]"}) {
    EXPECT_FALSE(parse_export_event_line(line)) << line;
  }
}

TEST(export_codec, a_damaged_event_line_is_refused) {
  const auto good = format_export_event_line(sample());
  ASSERT_TRUE(parse_export_event_line(good));
  const auto with = [&](std::string from, std::string to) {
    auto s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const std::string cases[] = {
      good.substr(0, good.size() - 1),
      good + "x",
      good + "\r",
      R"({"event":7})",
      with(R"("global_seq":42)", R"("global_seq":0)"),
      with(R"("global_seq":42)", R"("global_seq":"42")"),
      with(R"("global_seq":42,)", ""),
      with(R"("version":3)", R"("version":-1)"),
      with(R"("type":"KeyRevoked")", R"("type":"")"),
      with(R"("stream_id":"api_key-key_3hQ7mW0pZr9xKc2VbN5tLa")", R"("stream_id":"")"),
      with("00112233-4455", "0011223-34455"),
      with("00112233-", "0011223g-"),
      with(R"("hash":"ff)", R"("hash":"FF)"),
      with(R"("hash":"ff)", R"("hash":")"),
      with(R"("recorded_at_us":1795500000123456)", R"("recorded_at_us":1.5)"),
      with(R"("payload":")", R"("extra":1,"payload":")"),
      with(R"({"event":)", R"({"format":1,"event":)"),
      with(R"("metadata":"{\"actor\":\"usr_0123456789ABCDEFGHIJKL\",\"request_id\":\"req_1\"}")",
           R"("metadata":{})"),
  };
  for (const auto& line : cases) EXPECT_FALSE(parse_export_event_line(line)) << line;
}

TEST(export_codec, a_large_payload_fits) {
  auto e = sample();
  e.payload = "{\"redirect_uris\":\"" + std::string(200'000, 'u') + "\"}";
  const auto back = parse_export_event_line(format_export_event_line(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->payload, e.payload);
}

// Found by tests/fuzz export_codec (corpus/export_codec/regression_invalid_utf8): raw bytes that
// are not UTF-8 inside a string. The writer turns them into U+FFFD, so no exporter writes such
// a line; the reader used to keep them.
TEST(export_codec, a_string_that_is_not_utf8_is_refused) {
  const std::string line =
      std::string(R"({"event":{"global_seq":42,"stream_id":"api_key-key_6hQ7mW0pZr9xKc2VbN5tLa",)"
                  R"("version":3,"event_id":"00112233-4455-6677-8899-aabbccddeeff",)"
                  R"("type":"KeyRevoked","payload":"{\"key_id\":\"key_3hQ7mW0pZr9)") +
      "\x88\xb4\x9c\xcd\xa9\x9d\xb1\xc5" +
      R"(tLa\",\"revoked_at\":\"2026-11-24T08:00:00.000000Z\"}",)"
      R"("metadata":"{\"actor\":\"usr_0123456789ABCDEFGHIJKL\",\"request_id\":\"req_1\"}",)"
      R"("recorded_at_us":1795500000123456,"hash":)"
      R"("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"}})";
  EXPECT_FALSE(parse_export_event_line(line));
  // Well-formed UTF-8 is still read as it is.
  auto e = sample();
  e.payload = "{\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}";
  const auto back = parse_export_event_line(format_export_event_line(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->payload, e.payload);
}

}  // namespace
}  // namespace keyledger::infra

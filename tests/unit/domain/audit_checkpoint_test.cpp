#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "domain/audit/checkpoint.hpp"
#include "domain/encoding.hpp"

namespace keyledger::domain::audit {
namespace {

// golang.org/x/mod/sumdb/note: the package documentation's example and note_test.go.
const std::string go_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
const std::string peter_line =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const std::string enoch_line =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
const std::string peter_vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const std::string enoch_vkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

checkpoint sample() {
  checkpoint c;
  c.origin = "keyledger.example/log";
  c.size = 20852163;
  // The root of c2sp.org/tlog-checkpoint's example.
  const auto root = *base64_decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  for (std::size_t i = 0; i < c.root.size(); ++i) c.root[i] = static_cast<std::uint8_t>(root[i]);
  c.time = 1767225600;
  return c;
}

const std::string sample_text =
    "keyledger.example/log\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "time 1767225600\n";

// ---- names -----------------------------------------------------------------------------------

TEST(checkpoint, a_note_name_is_non_empty_utf8_without_spaces_pluses_or_controls) {
  EXPECT_TRUE(valid_note_name("PeterNeumann"));
  EXPECT_TRUE(valid_note_name("example.com/log42"));
  EXPECT_TRUE(valid_note_name("quasimodo.example/salvatore"));
  EXPECT_TRUE(valid_note_name(std::string("gr") + "\xC3\xBC\xC3\x9F" + "e"));  // letters: fine
  const auto around = [](const char* middle) { return std::string("a") + middle + "b"; };
  const std::vector<std::string> bad = {
      "",
      "+",
      around(" "),
      around("+"),
      around("\t"),
      around("\n"),
      around("\r"),
      around("\x01"),
      around("\xC2\xA0"),      // U+00A0 no-break space
      around("\xE2\x80\x83"),  // U+2003 em space
      around("\xE3\x80\x80"),  // U+3000 ideographic space
      around("\xC2\x85"),      // U+0085 next line
      around("\xE2\x80\xA8"),  // U+2028 line separator
      around("\xFF"),          // not UTF-8
      around("\xC3"),          // a truncated sequence
      around("\xED\xA0\x80"),  // a surrogate
  };
  for (const auto& name : bad) EXPECT_FALSE(valid_note_name(name)) << name;
}

// ---- checkpoint text -------------------------------------------------------------------------

TEST(checkpoint, the_text_is_origin_size_root_and_one_time_line) {
  const auto text = format_checkpoint(sample());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(), sample_text);
  const auto parsed = parse_checkpoint(sample_text);
  ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
  EXPECT_EQ(parsed.value(), sample());
}

TEST(checkpoint, texts_round_trip_at_the_edges_of_size_and_time) {
  for (const std::uint64_t size :
       {std::uint64_t{0}, std::uint64_t{1}, std::numeric_limits<std::uint64_t>::max()}) {
    for (const std::int64_t time : {std::int64_t{0}, std::numeric_limits<std::int64_t>::max()}) {
      checkpoint c = sample();
      c.size = size;
      c.time = time;
      c.root[0] = static_cast<std::uint8_t>(size);
      const auto text = format_checkpoint(c);
      ASSERT_TRUE(text.ok());
      const auto back = parse_checkpoint(text.value());
      ASSERT_TRUE(back.ok()) << text.value();
      EXPECT_EQ(back.value(), c);
    }
  }
}

TEST(checkpoint, what_cannot_be_parsed_back_is_not_formatted) {
  checkpoint c = sample();
  c.origin = "key ledger";
  EXPECT_EQ(format_checkpoint(c).error(), checkpoint_refusal::bad_origin);
  c.origin = "";
  EXPECT_EQ(format_checkpoint(c).error(), checkpoint_refusal::bad_origin);
  c = sample();
  c.time = -1;
  EXPECT_EQ(format_checkpoint(c).error(), checkpoint_refusal::bad_time);
}

struct malformed_text {
  std::string text;
  checkpoint_refusal why;
};

// `sample_text` with line `line` (0-3) replaced by `with`.
std::string with_line(std::size_t line, const std::string& with) {
  std::vector<std::string> lines = {
      "keyledger.example/log", "20852163",
      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "time 1767225600"};
  lines[line] = with;
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(checkpoint, every_malformed_text_is_refused_with_its_reason) {
  using r = checkpoint_refusal;
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  const std::vector<malformed_text> cases = {
      {"", r::bad_lines},
      {sample_text.substr(0, sample_text.size() - 1), r::bad_lines},  // no final newline
      {sample_text + "\n", r::bad_lines},                             // a blank fifth line
      {sample_text + "extra\n", r::bad_lines},                        // a second extension
      // c2sp.org/tlog-checkpoint's own example has no time line: not ours.
      {"example.com/behind-the-sofa\n20852163\n" + root + "\n", r::bad_lines},
      {with_line(0, ""), r::bad_origin},
      {with_line(0, "keyledger.example/log "), r::bad_origin},
      {with_line(0, " keyledger.example/log"), r::bad_origin},
      {with_line(0, "keyledger.example/log\r"), r::bad_origin},
      {with_line(0, "key+ledger"), r::bad_origin},
      {with_line(0, "key\xC2\xA0ledger"), r::bad_origin},
      {with_line(0, "key\xffledger"), r::bad_origin},
      {with_line(1, ""), r::bad_size},
      {with_line(1, "020852163"), r::bad_size},  // leading zero
      {with_line(1, "00"), r::bad_size},
      {with_line(1, "-1"), r::bad_size},
      {with_line(1, "+1"), r::bad_size},
      {with_line(1, " 1"), r::bad_size},
      {with_line(1, "1 "), r::bad_size},
      {with_line(1, "1e3"), r::bad_size},
      {with_line(1, "0x10"), r::bad_size},
      {with_line(1, "18446744073709551616"), r::bad_size},  // 2^64
      {with_line(1, "99999999999999999999"), r::bad_size},
      {with_line(2, ""), r::bad_root},
      {with_line(2, root.substr(0, 43)), r::bad_root},  // padding dropped
      {with_line(2, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw=="), r::bad_root},  // 31 bytes
      {with_line(2, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA"), r::bad_root},  // 33 bytes
      {with_line(2, "CsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I="), r::bad_root},  // base64url
      {with_line(2, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J="), r::bad_root},  // stray bits
      {with_line(2, root + " "), r::bad_root},
      {with_line(2, " " + root), r::bad_root},
      {with_line(3, ""), r::bad_time},
      {with_line(3, "time"), r::bad_time},
      {with_line(3, "time "), r::bad_time},
      {with_line(3, "time  1767225600"), r::bad_time},
      {with_line(3, "time 1767225600 "), r::bad_time},
      {with_line(3, "Time 1767225600"), r::bad_time},
      {with_line(3, "time 01767225600"), r::bad_time},
      {with_line(3, "time -1"), r::bad_time},
      {with_line(3, "time 9223372036854775808"), r::bad_time},  // 2^63
      {with_line(3, "timestamp 1767225600"), r::bad_time},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_checkpoint(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error(), c.why) << c.text;
  }
  // And the extremes that are allowed.
  EXPECT_TRUE(parse_checkpoint(with_line(1, "0")).ok());
  EXPECT_TRUE(parse_checkpoint(with_line(1, "18446744073709551615")).ok());
  EXPECT_TRUE(parse_checkpoint(with_line(3, "time 0")).ok());
  EXPECT_TRUE(parse_checkpoint(with_line(3, "time 9223372036854775807")).ok());
}

// ---- notes -----------------------------------------------------------------------------------

TEST(checkpoint, the_go_example_note_parses_into_its_text_and_signature) {
  const auto note = parse_note(go_text + "\n" + peter_line);
  ASSERT_TRUE(note.ok()) << to_string(note.error());
  EXPECT_EQ(note->text, go_text);
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].key_name, "PeterNeumann");
  EXPECT_EQ(note->signatures[0].key_id, 0xc74f20a3u);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
}

TEST(checkpoint, a_note_is_formatted_byte_for_byte_as_go_writes_it) {
  // Given the two signatures of note_test.go's TestOpen
  const auto parsed = parse_note(go_text + "\n" + peter_line + enoch_line);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->signatures.size(), 2u);
  EXPECT_EQ(parsed->signatures[1].key_name, "EnochRoot");
  EXPECT_EQ(parsed->signatures[1].key_id, 0xaf0cfe78u);
  // When the note is written again, then it is the same bytes
  const auto again = format_note(parsed->text, parsed->signatures);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), go_text + "\n" + peter_line + enoch_line);
  EXPECT_EQ(format_signature_line(parsed->signatures[0]).value(), peter_line);
}

TEST(checkpoint, the_text_ends_at_the_last_blank_line) {
  const std::string text = "first\n\nsecond\n";
  const auto note = parse_note(text + "\n" + peter_line);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(note->text, text);
  EXPECT_EQ(note->signatures.size(), 1u);
}

TEST(checkpoint, every_malformed_note_is_refused_with_its_reason) {
  using r = note_refusal;
  const std::string sig = peter_line.substr(0, peter_line.size() - 1);  // without its newline
  const std::string blob = sig.substr(sig.find(' ', 4) + 1);
  const std::string dash = "\xE2\x80\x94 ";
  const std::vector<std::pair<std::string, note_refusal>> cases = {
      // note_test.go's badMsgs
      {go_text, r::no_signatures},
      {go_text + "\n", r::no_signatures},
      {go_text + "\n" + sig, r::no_signatures},
      {"\x01" + go_text + "\n" + peter_line, r::bad_encoding},
      {"\xff" + go_text + "\n" + peter_line, r::bad_encoding},
      {go_text + "\n" + dash + "Bad Name " + blob + "\n", r::bad_signature_line},
      {go_text + "\n" + peter_line + "Unexpected line.\n", r::bad_signature_line},
      // and more
      {"", r::no_signatures},
      {go_text + "\r\n" + peter_line, r::bad_encoding},
      {go_text + "\n" + peter_line.substr(0, peter_line.size() - 1) + "\r\n", r::bad_encoding},
      {go_text + "\n" + "-- PeterNeumann " + blob + "\n", r::bad_signature_line},
      {go_text + "\n" + "\xE2\x80\x94PeterNeumann " + blob + "\n", r::bad_signature_line},
      {go_text + "\n" + dash + "PeterNeumann  " + blob + "\n", r::bad_signature_line},
      {go_text + "\n" + dash + "PeterNeumann " + blob + " \n", r::bad_signature_line},
      {go_text + "\n" + dash + "PeterNeumann\n", r::bad_signature_line},
      {go_text + "\n" + dash + "PeterNeumann \n", r::bad_signature_line},
      {go_text + "\n" + dash + " " + blob + "\n", r::bad_signature_line},  // empty name
      {go_text + "\n" + dash + "Peter+Neumann " + blob + "\n", r::bad_signature_line},
      {go_text + "\n" + dash + "PeterNeumann " + "AAAAAA==" + "\n", r::bad_signature_line},
      {go_text + "\n" + dash + "PeterNeumann " + blob.substr(0, blob.size() - 1) + "\n",
       r::bad_signature_line},
      {go_text + "\n" + peter_line + "\n", r::no_signatures},  // ends in a blank line
      {go_text + "\n" + std::string(max_note_bytes, 'a') + "\n", r::too_large},
  };
  for (const auto& [note, why] : cases) {
    const auto parsed = parse_note(note);
    ASSERT_FALSE(parsed.ok()) << note;
    EXPECT_EQ(parsed.error(), why) << note;
  }
}

TEST(checkpoint, a_note_carries_at_most_100_signatures) {
  std::string lines;
  for (std::size_t i = 0; i < max_note_signatures; ++i) lines += peter_line;
  EXPECT_TRUE(parse_note(go_text + "\n" + lines).ok());
  EXPECT_EQ(parse_note(go_text + "\n" + lines + peter_line).error(),
            note_refusal::too_many_signatures);
}

TEST(checkpoint, a_note_is_not_formatted_from_what_would_not_parse) {
  const note_signature good{"PeterNeumann", 1, std::string(64, 'x')};
  EXPECT_EQ(format_note("", std::vector{good}).error(), note_refusal::bad_text);
  EXPECT_EQ(format_note("no newline", std::vector{good}).error(), note_refusal::bad_text);
  EXPECT_EQ(format_note("tab\there\n", std::vector{good}).error(), note_refusal::bad_encoding);
  EXPECT_EQ(format_note("ok\n", {}).error(), note_refusal::no_signatures);
  const note_signature bad_name{"Peter Neumann", 1, std::string(64, 'x')};
  EXPECT_EQ(format_note("ok\n", std::vector{bad_name}).error(), note_refusal::bad_signature_line);
  const note_signature empty{"PeterNeumann", 1, ""};
  EXPECT_EQ(format_signature_line(empty).error(), note_refusal::bad_signature_line);
  // A formatted note parses back to what it was made of.
  const auto note = format_note("ok\n", std::vector{good});
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(parse_note(note.value()).value(), (signed_note{"ok\n", {good}}));
}

// ---- verifier keys ---------------------------------------------------------------------------

TEST(checkpoint, the_go_verifier_keys_parse_and_format_back_to_the_same_string) {
  for (const auto& vkey : {peter_vkey, enoch_vkey}) {
    const auto k = parse_verifier_key(vkey);
    ASSERT_TRUE(k.has_value()) << vkey;
    EXPECT_EQ(k->type, ed25519_note_key_type);
    EXPECT_EQ(k->public_key.size(), 32u);
    EXPECT_EQ(format_verifier_key(*k), vkey);
  }
  const auto peter = *parse_verifier_key(peter_vkey);
  EXPECT_EQ(peter.name, "PeterNeumann");
  EXPECT_EQ(peter.key_id, 0xc74f20a3u);
}

TEST(checkpoint, malformed_verifier_keys_are_refused) {
  const std::string key64 = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  const std::vector<std::string> bad_keys = {
      "",
      "PeterNeumann",
      "PeterNeumann+c74f20a3",
      "PeterNeumann+c74f20a3+",
      "PeterNeumann+C74F20A3+" + key64,  // uppercase hex: not as keys are written
      "PeterNeumann+c74f20a+" + key64,
      "PeterNeumann+c74f20a30+" + key64,
      "PeterNeumann+c74f20g3+" + key64,
      "+c74f20a3+" + key64,
      "Peter Neumann+c74f20a3+" + key64,
      "PeterNeumann+c74f20a3+" + key64.substr(0, 43),
      "PeterNeumann+c74f20a3+AQ==",  // a type byte and no key
      "PeterNeumann+c74f20a3+" + key64 + "=",
  };
  for (const auto& bad : bad_keys) {
    EXPECT_FALSE(parse_verifier_key(bad).has_value()) << bad;
  }
}

TEST(checkpoint, the_key_id_preimage_is_name_newline_type_and_key) {
  const std::uint8_t key[] = {0xaa, 0xbb};
  EXPECT_EQ(key_id_preimage("log", 0x01, key), std::string("log\n\x01\xaa\xbb", 7));
  digest h{};
  h[0] = 0xc7;
  h[1] = 0x4f;
  h[2] = 0x20;
  h[3] = 0xa3;
  h[4] = 0xff;
  EXPECT_EQ(key_id_of(h), 0xc74f20a3u);
}

TEST(checkpoint, refusals_have_names) {
  EXPECT_EQ(to_string(checkpoint_refusal::bad_root), "bad_root");
  EXPECT_EQ(to_string(note_refusal::unknown_key), "unknown_key");
  EXPECT_EQ(to_string(note_refusal::bad_signature), "bad_signature");
}

}  // namespace
}  // namespace keyledger::domain::audit

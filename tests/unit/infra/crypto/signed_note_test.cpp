// Signed notes and checkpoints with Ed25519: byte compatibility with golang.org/x/mod/sumdb/note
// (its documented PeterNeumann example and note_test.go's EnochRoot), round trips, and every
// refusal an offline verifier relies on.

#include "infra/crypto/signed_note.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "domain/encoding.hpp"

namespace keyledger::infra {
namespace {

using domain::audit::checkpoint;
using domain::audit::checkpoint_refusal;
using domain::audit::note_refusal;

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
const std::string go_note = go_text + "\n" + peter_line;
const std::string peter_vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const std::string enoch_vkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
// "PRIVATE+KEY+PeterNeumann+c74f20a3+" and base64(0x01 || seed).
const std::string peter_skey64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

ed25519_key peter_key() {
  const auto blob = domain::base64_decode(peter_skey64);
  EXPECT_TRUE(blob.has_value() && blob->size() == 33 && (*blob)[0] == '\x01');
  auto key = ed25519_key::from_seed(secret(blob->substr(1)));
  EXPECT_TRUE(key.has_value());
  return std::move(*key);
}

note_verifier verifier(const std::string& vkey) {
  auto v = note_verifier::parse(vkey);
  EXPECT_TRUE(v.has_value()) << vkey;
  return std::move(*v);
}

// ---- Go compatibility ------------------------------------------------------------------------

TEST(signed_note, the_go_example_key_has_the_go_key_id_and_verifier_string) {
  const auto key = peter_key();
  EXPECT_EQ(note_key_id("PeterNeumann", key.public_key()), 0xc74f20a3u);
  const auto v = note_verifier::create("PeterNeumann", key.public_key());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->to_string(), peter_vkey);
  const auto enoch = verifier(enoch_vkey);
  EXPECT_EQ(enoch.key_id(), 0xaf0cfe78u);
  EXPECT_EQ(note_key_id("EnochRoot", enoch.key()), 0xaf0cfe78u);
  EXPECT_EQ(enoch.to_string(), enoch_vkey);
}

TEST(signed_note, signing_the_go_example_text_gives_the_go_note_byte_for_byte) {
  const auto note = sign_note(go_text, "PeterNeumann", peter_key());
  ASSERT_TRUE(note.ok()) << domain::audit::to_string(note.error());
  EXPECT_EQ(note.value(), go_note);
}

TEST(signed_note, the_go_notes_open_with_their_keys) {
  EXPECT_EQ(open_note(go_note, verifier(peter_vkey)).value(), go_text);
  // Both signatures of note_test.go's TestOpen: each key finds its own, ignores the other.
  const std::string both = go_text + "\n" + peter_line + enoch_line;
  EXPECT_EQ(open_note(both, verifier(peter_vkey)).value(), go_text);
  EXPECT_EQ(open_note(both, verifier(enoch_vkey)).value(), go_text);
}

TEST(signed_note, every_mangling_of_the_go_verifier_key_is_refused) {
  // As note_test.go's TestNewVerifier: every proper substring, every byte incremented.
  ASSERT_TRUE(note_verifier::parse(peter_vkey).has_value());
  for (std::size_t i = 0; i <= peter_vkey.size(); ++i) {
    for (std::size_t j = i + 1; j <= peter_vkey.size(); ++j) {
      if (i == 0 && j == peter_vkey.size()) continue;
      const auto part = peter_vkey.substr(i, j - i);
      EXPECT_FALSE(note_verifier::parse(part).has_value()) << part;
    }
  }
  for (std::size_t i = 0; i < peter_vkey.size(); ++i) {
    std::string mangled = peter_vkey;
    ++mangled[i];
    EXPECT_FALSE(note_verifier::parse(mangled).has_value()) << mangled;
  }
  // A key of the wrong length and one of an unknown type, each with its key id adjusted.
  EXPECT_FALSE(note_verifier::parse(
      "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="));
  EXPECT_FALSE(
      note_verifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
}

// ---- refusals --------------------------------------------------------------------------------

TEST(signed_note, a_note_whose_text_changed_by_one_byte_is_refused) {
  const auto peter = verifier(peter_vkey);
  for (std::size_t i = 0; i < go_text.size(); ++i) {
    std::string note = go_note;
    if (note[i] == '\n') continue;  // moving the newline makes another shape; below
    note[i] = note[i] == 'x' ? 'y' : 'x';
    const auto opened = open_note(note, peter);
    ASSERT_FALSE(opened.ok()) << i;
    EXPECT_EQ(opened.error(), note_refusal::bad_signature) << i;
  }
  EXPECT_FALSE(open_note("X" + go_note, peter).ok());
  EXPECT_FALSE(open_note(go_text + "more\n\n" + peter_line, peter).ok());
}

TEST(signed_note, a_spoiled_signature_is_refused) {
  const auto peter = verifier(peter_vkey);
  // note_test.go: four base64 characters inserted into the signature.
  const std::string inserted =
      go_text + "\n" + peter_line.substr(0, 60) + "ABCD" + peter_line.substr(60);
  EXPECT_EQ(open_note(inserted, peter).error(), note_refusal::bad_signature);
  // The last signature byte changed (the line stays canonical base64).
  std::string changed = go_note;
  changed[changed.size() - 5] = changed[changed.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(open_note(changed, peter).error(), note_refusal::bad_signature);
}

TEST(signed_note, a_note_by_another_key_name_or_key_id_is_refused) {
  const auto peter = verifier(peter_vkey);
  // Signed by another key only.
  EXPECT_EQ(open_note(go_text + "\n" + enoch_line, peter).error(), note_refusal::unknown_key);
  const auto stranger = ed25519_key::generate();
  EXPECT_EQ(open_note(sign_note(go_text, "PeterNeumann", stranger).value(), peter).error(),
            note_refusal::unknown_key)
      << "the same name with another key is another key id";
  // note_test.go: the right signature under another name, or with another key id.
  std::string misnamed = go_note;
  misnamed.replace(misnamed.find("PeterNeumann"), 12, "CarmenSandiego");
  EXPECT_EQ(open_note(misnamed, peter).error(), note_refusal::unknown_key);
  std::string wrong_id = go_note;
  wrong_id.replace(wrong_id.find("x08g"), 4, "xxxx");
  EXPECT_EQ(open_note(wrong_id, peter).error(), note_refusal::unknown_key);
  // A verifier holding Peter's key under another name finds no signature of its own.
  const auto renamed = note_verifier::create("PeterNeuman", peter.key());
  ASSERT_TRUE(renamed.has_value());
  EXPECT_EQ(open_note(go_note, *renamed).error(), note_refusal::unknown_key);
}

TEST(signed_note, one_bad_signature_by_the_key_spoils_the_note_even_beside_a_good_one) {
  const auto peter = verifier(peter_vkey);
  std::string changed_line = peter_line;
  changed_line[changed_line.size() - 5] = changed_line[changed_line.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(open_note(go_text + "\n" + peter_line + changed_line, peter).error(),
            note_refusal::bad_signature);
}

TEST(signed_note, what_cannot_be_a_note_is_not_signed) {
  const auto key = peter_key();
  EXPECT_EQ(sign_note("", "PeterNeumann", key).error(), note_refusal::bad_text);
  EXPECT_EQ(sign_note("no newline", "PeterNeumann", key).error(), note_refusal::bad_text);
  EXPECT_EQ(sign_note("a\rb\n", "PeterNeumann", key).error(), note_refusal::bad_encoding);
  EXPECT_EQ(sign_note(go_text, "Peter Neumann", key).error(), note_refusal::bad_signature_line);
  EXPECT_FALSE(note_verifier::create("Peter+Neumann", key.public_key()).has_value());
}

// ---- checkpoints -----------------------------------------------------------------------------

checkpoint sample() {
  checkpoint c;
  c.origin = "keyledger.example/log";
  c.size = 1234;
  for (std::size_t i = 0; i < c.root.size(); ++i) c.root[i] = static_cast<std::uint8_t>(i * 7);
  c.time = 1767225600;
  return c;
}

TEST(signed_note, a_signed_checkpoint_opens_to_the_same_checkpoint) {
  const auto key = ed25519_key::generate();
  const auto v = *note_verifier::create("keyledger.example/log", key.public_key());
  const auto note = sign_checkpoint(sample(), key);
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(note.value().starts_with(domain::audit::format_checkpoint(sample()).value() + "\n"));
  const auto opened = open_checkpoint(note.value(), v);
  ASSERT_TRUE(opened.ok()) << to_string(opened.error());
  EXPECT_EQ(opened.value(), sample());
  // A witness's cosignature after it changes nothing.
  const auto witness = ed25519_key::generate();
  const auto cosigned = note.value() + sign_note(domain::audit::format_checkpoint(sample()).value(),
                                                 "witness.example", witness)
                                           .value()
                                           .substr(note.value().find("\n\n") + 2);
  EXPECT_EQ(open_checkpoint(cosigned, v).value(), sample());
}

TEST(signed_note, a_forged_or_altered_checkpoint_is_refused) {
  const auto key = ed25519_key::generate();
  const auto v = *note_verifier::create("keyledger.example/log", key.public_key());
  const std::string note = sign_checkpoint(sample(), key).value();
  // Signed by another key under the log's name.
  const auto forger = ed25519_key::generate();
  EXPECT_EQ(open_checkpoint(sign_checkpoint(sample(), forger).value(), v).error(),
            signed_checkpoint_refusal{note_refusal::unknown_key});
  // The size, then a root byte, altered after signing.
  std::string bigger = note;
  bigger.replace(bigger.find("1234"), 4, "1235");
  EXPECT_EQ(open_checkpoint(bigger, v).error(),
            signed_checkpoint_refusal{note_refusal::bad_signature});
  checkpoint other = sample();
  other.root[31] ^= 1;
  const std::string other_text = domain::audit::format_checkpoint(other).value();
  const std::string swapped = other_text + note.substr(note.find("\n\n") + 1);
  EXPECT_EQ(open_checkpoint(swapped, v).error(),
            signed_checkpoint_refusal{note_refusal::bad_signature});
}

TEST(signed_note, a_validly_signed_text_that_is_not_a_checkpoint_is_refused) {
  const auto key = ed25519_key::generate();
  const auto v = *note_verifier::create("keyledger.example/log", key.public_key());
  const auto note = sign_note("keyledger.example/log\n01\nAAAA\ntime 1\n", v.name(), key);
  EXPECT_EQ(open_checkpoint(note.value(), v).error(),
            signed_checkpoint_refusal{checkpoint_refusal::bad_size});
  // A checkpoint of another log, signed by this key under this key's name.
  checkpoint elsewhere = sample();
  elsewhere.origin = "other.example/log";
  const auto text = domain::audit::format_checkpoint(elsewhere).value();
  EXPECT_EQ(open_checkpoint(sign_note(text, v.name(), key).value(), v).error(),
            signed_checkpoint_refusal{checkpoint_refusal::bad_origin});
  EXPECT_EQ(to_string(signed_checkpoint_refusal{checkpoint_refusal::bad_origin}), "bad_origin");
  EXPECT_EQ(to_string(signed_checkpoint_refusal{note_refusal::unknown_key}), "unknown_key");
}

TEST(signed_note, a_checkpoint_that_cannot_be_written_is_not_signed) {
  checkpoint c = sample();
  c.origin = "not a name";
  EXPECT_EQ(sign_checkpoint(c, ed25519_key::generate()).error(),
            signed_checkpoint_refusal{checkpoint_refusal::bad_origin});
}

}  // namespace
}  // namespace keyledger::infra

#include "infra/crypto/password.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "infra/core/error.hpp"

namespace keyledger::infra {
namespace {

using namespace std::string_literals;

// Most tests hash with a small memory cost to stay fast; one round trip uses the real ones.
constexpr argon2id_params cheap{256, 1, 1};

// The reference implementation's known answer (libargon2 src/test.c): password "password",
// salt "somesalt", m = 256 KiB, t = 2, p = 1, 32-byte output.
constexpr std::string_view reference_hash =
    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";

secret pw(std::string text) { return secret(std::move(text)); }

std::string hash_of(const std::string& password, const argon2id_params& params = cheap) {
  auto h = hash_password(pw(password), params);
  EXPECT_TRUE(h.ok());
  return h.ok() ? h.value() : std::string();
}

TEST(password_hash, round_trip_with_the_owasp_parameters_in_the_phc_string) {
  const std::string password = "correct horse battery staple";
  const std::string encoded = hash_of(password, owasp_argon2id);
  // $argon2id$v=19$m=19456,t=2,p=1$<22 base64 chars of salt>$<43 of hash>
  const std::string prefix = "$argon2id$v=19$m=19456,t=2,p=1$";
  ASSERT_EQ(encoded.substr(0, prefix.size()), prefix);
  const std::string rest = encoded.substr(prefix.size());
  const auto dollar = rest.find('$');
  ASSERT_NE(dollar, std::string::npos);
  EXPECT_EQ(dollar, 22u);
  EXPECT_EQ(rest.size() - dollar - 1, 43u);
  EXPECT_EQ(parse_argon2id_params(encoded), owasp_argon2id);
  EXPECT_FALSE(needs_rehash(encoded));
  EXPECT_TRUE(verify_password(pw(password), encoded));
  EXPECT_FALSE(verify_password(pw(password + " "), encoded));
  // The hash never contains the password.
  EXPECT_EQ(encoded.find(password), std::string::npos);
}

TEST(password_hash, the_same_password_gets_a_different_salt_each_time) {
  const std::string a = hash_of("twelve chars");
  const std::string b = hash_of("twelve chars");
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password(pw("twelve chars"), a));
  EXPECT_TRUE(verify_password(pw("twelve chars"), b));
}

TEST(password_verify, known_answer_of_the_reference_implementation) {
  EXPECT_TRUE(verify_password(pw("password"), reference_hash));
  EXPECT_FALSE(verify_password(pw("Password"), reference_hash));
  EXPECT_FALSE(verify_password(pw(""), reference_hash));
  EXPECT_EQ(parse_argon2id_params(reference_hash), (argon2id_params{256, 2, 1}));
  EXPECT_TRUE(needs_rehash(reference_hash));
}

TEST(password_verify, wrong_passwords_never_match) {
  const std::string encoded = hash_of("the right password");
  for (const std::string& wrong : {"the right passwor"s, "the right password\0"s,
                                   "The right password"s, ""s, std::string(1024, 'x')}) {
    EXPECT_FALSE(verify_password(pw(wrong), encoded)) << wrong.size();
  }
}

TEST(password_verify, tampered_or_foreign_hashes_never_match) {
  const std::string password = "the right password";
  const std::string good = hash_of(password);
  ASSERT_TRUE(verify_password(pw(password), good));
  const auto last_dollar = good.rfind('$');
  std::vector<std::string> bad;
  // One character of the hash or of the salt changed.
  std::string h = good;
  h[last_dollar + 5] = h[last_dollar + 5] == 'A' ? 'B' : 'A';
  bad.push_back(h);
  std::string s = good;
  s[last_dollar - 3] = s[last_dollar - 3] == 'A' ? 'B' : 'A';
  bad.push_back(s);
  // Other parameters, version or variant; truncation; trailing bytes; NUL; empty.
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string out = good;
    out.replace(out.find(from), from.size(), to);
    return out;
  };
  bad.push_back(replaced("m=256", "m=512"));
  bad.push_back(replaced("t=1", "t=2"));
  bad.push_back(replaced("v=19", "v=16"));
  bad.push_back(replaced("$argon2id$", "$argon2i$"));
  bad.push_back(replaced("$argon2id$", "$argon2d$"));
  bad.push_back(replaced("m=256", "m=0256"));
  bad.push_back(good.substr(0, good.size() - 1));
  bad.push_back(good.substr(0, last_dollar));
  bad.push_back(good + "=");
  bad.push_back(good + "$x");
  bad.push_back(good + "\0"s);
  bad.push_back(""s);
  bad.push_back("plaintext"s);
  for (const auto& encoded : bad) {
    EXPECT_FALSE(verify_password(pw(password), encoded)) << encoded;
  }
}

TEST(password_verify, hashes_demanding_huge_costs_are_refused_without_running) {
  // Well-formed, but m = 4 GiB or t = 2^32-1 would hang or exhaust the process. Refused at once.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(verify_password(
      pw("password"),
      "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"));
  EXPECT_FALSE(verify_password(pw("password"),
                               "$argon2id$v=19$m=256,t=4294967295,p=1$c29tZXNhbHQ$nf65EOgLrQMR/"
                               "uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"));
  EXPECT_FALSE(verify_password(
      pw("password"),
      "$argon2id$v=19$m=256,t=2,p=255$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
}

TEST(password_policy, lengths_outside_12_to_1024_bytes_are_refused) {
  for (const std::string& p : {""s, "a"s, std::string(11, 'x')}) {
    const auto r = hash_password(pw(p));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), password_problem::too_short);
    EXPECT_EQ(check_new_password(p), password_problem::too_short);
  }
  const auto r = hash_password(pw(std::string(1025, 'x')));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), password_problem::too_long);
  EXPECT_EQ(to_string(password_problem::too_long), "too_long");
  EXPECT_EQ(to_string(password_problem::too_short), "too_short");
  EXPECT_FALSE(check_new_password(std::string(12, 'x')).has_value());
  EXPECT_FALSE(check_new_password(std::string(1024, 'x')).has_value());
}

TEST(password_policy, any_bytes_are_accepted_at_the_limits) {
  // 12 bytes with NUL, invalid UTF-8 and controls; 1024 bytes exactly.
  const std::string odd = "\0\xff\xfe\n\t abc\x01\x7f\xc3"s;
  ASSERT_EQ(odd.size(), 12u);
  const std::string longest(1024, '\xe2');
  for (const std::string& p : {odd, longest}) {
    const std::string encoded = hash_of(p);
    EXPECT_TRUE(verify_password(pw(p), encoded));
  }
  EXPECT_FALSE(verify_password(pw(std::string(1025, '\xe2')), hash_of(longest)));
}

TEST(password_rehash, needed_when_parameters_or_lengths_differ) {
  const std::string encoded = hash_of("twelve chars", cheap);
  EXPECT_FALSE(needs_rehash(encoded, cheap));
  EXPECT_TRUE(needs_rehash(encoded));  // against the OWASP parameters
  EXPECT_TRUE(needs_rehash(encoded, argon2id_params{256, 2, 1}));
  EXPECT_TRUE(needs_rehash(""));
  EXPECT_TRUE(needs_rehash("$2b$12$abcdefghijklmnopqrstuv"));  // bcrypt
  // A 8-byte salt (the reference's "somesalt") is not ours.
  EXPECT_TRUE(needs_rehash(reference_hash, argon2id_params{256, 2, 1}));
}

TEST(password_parse, only_canonical_argon2id_strings_parse) {
  const std::string tail = "$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  EXPECT_TRUE(parse_argon2id_params("$argon2id$v=19$m=256,t=2,p=1" + tail).has_value());
  for (const std::string& params :
       {"m=256,t=2"s, "m=256,t=2,p=1,x=1"s, "m=0256,t=2,p=1"s, "m=256,t=02,p=1"s, "m=+256,t=2,p=1"s,
        "m=4294967296,t=2,p=1"s, "m=256,t=0,p=1"s, "m=256,t=2,p=0"s, "t=2,m=256,p=1"s,
        "m=256, t=2,p=1"s, "m=,t=2,p=1"s}) {
    EXPECT_FALSE(parse_argon2id_params("$argon2id$v=19$" + params + tail).has_value()) << params;
  }
  EXPECT_EQ(parse_argon2id_params("$argon2id$v=19$m=4294967295,t=1,p=1" + tail),
            (argon2id_params{4294967295u, 1, 1}));
  // Salt and hash: base64 without padding, 8-64 bytes.
  EXPECT_FALSE(parse_argon2id_params("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$"
                                     "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
                   .has_value());
  EXPECT_FALSE(parse_argon2id_params("$argon2id$v=19$m=256,t=2,p=1$c29tZQ$"
                                     "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
                   .has_value());
  EXPECT_FALSE(parse_argon2id_params("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$").has_value());
  EXPECT_FALSE(
      parse_argon2id_params("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" + std::string(90, 'A'))
          .has_value());
}

TEST(password_dummy, costs_a_real_verification_and_never_throws) {
  verify_password_dummy(pw("first call makes the dummy hash"));
  // Argon2id over 19 MiB cannot finish in under 2 ms on any machine: the work really happens.
  const auto started = std::chrono::steady_clock::now();
  verify_password_dummy(pw("someone's guess"));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2));
  verify_password_dummy(pw(""));
  verify_password_dummy(pw(std::string(5000, 'x')));
}

// ---- sessions and CSRF ------------------------------------------------------------------

const std::string session_id = std::string(42, 'A') + "E";

secret csrf_key() { return secret(std::string("0123456789abcdef0123456789abcdef")); }

TEST(session_id_hash, is_lowercase_hex_sha256_of_the_id) {
  // Independently computed: hashlib.sha256(session_id).hexdigest().
  EXPECT_EQ(session_id_hash(session_id),
            "1aeb305eae63ed6eac9ab26d46ef146ad48f5ae59c608cd41115ec4b19b5cd72");
  EXPECT_EQ(session_id_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(csrf, token_is_base64url_hmac_of_the_label_and_session_id) {
  // Independently computed: base64url(hmac.new(key, b"keyledger/csrf/v1\n" + id, sha256)).
  EXPECT_EQ(csrf_token(csrf_key(), session_id), "281TVMSc3j34cgtIUkRpPSOMQR3oDGyjBeKswL0s3bI");
}

TEST(csrf, tokens_are_bound_to_the_session_and_the_key) {
  const std::string token = csrf_token(csrf_key(), session_id);
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(csrf_token(csrf_key(), session_id), token);
  EXPECT_TRUE(csrf_token_valid(csrf_key(), session_id, token));
  // Another session, another key, a changed or cut token: refused.
  const std::string other_session = std::string(42, 'B') + "A";
  EXPECT_NE(csrf_token(csrf_key(), other_session), token);
  EXPECT_FALSE(csrf_token_valid(csrf_key(), other_session, token));
  EXPECT_FALSE(
      csrf_token_valid(secret(std::string("another key, also 32 bytes long!")), session_id, token));
  std::string changed = token;
  changed[10] = changed[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(csrf_token_valid(csrf_key(), session_id, changed));
  EXPECT_FALSE(csrf_token_valid(csrf_key(), session_id, token.substr(0, 42)));
  EXPECT_FALSE(csrf_token_valid(csrf_key(), session_id, token + "A"));
  EXPECT_FALSE(csrf_token_valid(csrf_key(), session_id, ""));
}

TEST(csrf, an_empty_key_is_refused) {
  EXPECT_THROW(csrf_token(secret(), session_id), error);
  EXPECT_FALSE(csrf_token_valid(secret(), session_id, "anything"));
}

}  // namespace
}  // namespace keyledger::infra

// The pure validation rules of api_key.hpp: names, postback URLs, CIDR lists, rate limits,
// key statuses. The decide tests (api_key_test.cpp) check that each rule is applied.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/keys/key_format.hpp"
#include "domain/workspace/workspace.hpp"
#include "fakes.hpp"

namespace keyledger::domain {
namespace {

using namespace std::string_literals;
using testing::seeded_random;

// ---- names -----------------------------------------------------------------------------------

TEST(key_name_rules, normalize_trims_ascii_whitespace_only) {
  EXPECT_EQ(normalize_key_name("  ci deploy \t\r\n"), "ci deploy");
  EXPECT_EQ(normalize_key_name("x"), "x");
  EXPECT_EQ(normalize_key_name(" \t "), "");
  EXPECT_EQ(normalize_key_name(""), "");
  EXPECT_EQ(normalize_key_name("\v\fa b\f"), "a b");
  // A no-break space is not ASCII whitespace: left for valid_key_name to refuse.
  EXPECT_EQ(normalize_key_name("\xc2\xa0x"), "\xc2\xa0x");
}

TEST(key_name_rules, accepted_names) {
  const std::string good[] = {
      "a",
      "0",
      "...",
      "ci-deploy",
      "ci.deploy-key_1",
      "Production key",
      "a/b:c<d>",
      "na\xc3\xafve",              // naive with a diaeresis (2-byte UTF-8)
      "\xe6\x97\xa5\xe6\x9c\xac",  // Japanese (3-byte)
      "key \xf0\x9f\x94\x91",      // an emoji (4-byte)
      std::string(64, 'Z'),        // 64 code points
      [] {
        std::string s;
        for (int i = 0; i < 64; ++i) s += "\xc3\xa9";  // 64 two-byte code points
        return s;
      }(),
      "kl_live_AbC1",  // a visible start, not a whole key
      "kl_live_",
  };
  for (const auto& name : good) {
    EXPECT_TRUE(valid_key_name(name)) << name;
  }
}

TEST(key_name_rules, refused_names) {
  std::string sixty_five_two_byte;
  for (int i = 0; i < 65; ++i) sixty_five_two_byte += "\xc3\xa9";
  const std::string bad[] = {
      "",
      std::string(65, 'a'),
      sixty_five_two_byte,
      " leading",
      "trailing ",
      "\xc2\xa0leading-nbsp",
      "trailing-ideographic\xe3\x80\x80",
      "tab\there",
      "new\nline",
      "nul\0x"s,
      "del\x7f",
      "c1\xc2\x85",             // U+0085 NEL (C1 control)
      "c1\xc2\x9f",             // U+009F
      "zero\xe2\x80\x8bwidth",  // U+200B
      "zwj\xe2\x80\x8d",        // U+200D
      "rtl\xe2\x80\x8f",        // U+200F
      "ls\xe2\x80\xa8",         // U+2028
      "rlo\xe2\x80\xae"
      "evil",             // U+202E (right-to-left override)
      "wj\xe2\x81\xa0",   // U+2060
      "inv\xe2\x81\xa4",  // U+2064
      "\xef\xbb\xbf"
      "bom",                      // U+FEFF
      "nonchar\xef\xbf\xbf",      // U+FFFF
      "nonchar\xef\xb7\x90",      // U+FDD0
      "bad\xff",                  // not UTF-8
      "bad\xc3",                  // truncated
      "bad\xc3(",                 // bad continuation
      "overlong\xc0\xaf",         // overlong '/'
      "overlong\xe0\x80\xaf",     // overlong
      "surrogate\xed\xa0\x80",    // U+D800
      "too-big\xf4\x90\x80\x80",  // U+110000
      "stray\x80",                // lone continuation byte
      "\xf8\x88\x80\x80\x80",     // 5-byte form
  };
  for (const auto& name : bad) {
    EXPECT_FALSE(valid_key_name(name)) << name;
    EXPECT_FALSE(valid_key_name(name, false)) << name;
  }
}

TEST(key_name_rules, spaces_only_when_the_workspace_allows_them) {
  for (const std::string& name : {"ci deploy"s,
                                  "a\xc2\xa0"
                                  "b"s,
                                  "a\xe2\x80\x82"
                                  "b"s,
                                  "a\xe3\x80\x80"
                                  "b"s,
                                  "a\xe2\x80\xaf"
                                  "b"s}) {
    EXPECT_TRUE(valid_key_name(name, true)) << name;
    EXPECT_FALSE(valid_key_name(name, false)) << name;
  }
  EXPECT_TRUE(valid_key_name("ci-deploy", false));
  EXPECT_TRUE(valid_key_name("\xe6\x97\xa5\xe6\x9c\xac", false));
}

TEST(key_name_rules, names_that_are_or_contain_a_key_are_refused) {
  seeded_random random{42};
  for (const auto env : {environment::live, environment::test}) {
    for (const char* prefix : {"kl", "qg", "abcdefghij"}) {
      const std::string key = generate_key(prefix, env, random);
      ASSERT_TRUE(parse_key(key).ok());
      EXPECT_FALSE(valid_key_name(key)) << key;
      EXPECT_FALSE(valid_key_name("backup " + key)) << key;
      EXPECT_FALSE(valid_key_name("old:" + key + "!")) << key;
      // One changed character breaks the checksum: no longer a key, an ordinary name.
      std::string typo = key;
      typo.back() = typo.back() == 'a' ? 'b' : 'a';
      if (!parse_key(typo).ok()) {
        EXPECT_TRUE(valid_key_name(typo)) << typo;
      }
    }
  }
}

// ---- scopes ------------------------------------------------------------------------------------

TEST(scope_rules, valid_and_invalid) {
  EXPECT_TRUE(valid_scope("leads:read"));
  EXPECT_TRUE(valid_scope("a:b"));
  EXPECT_FALSE(valid_scope("leads"));
  EXPECT_FALSE(valid_scope("leads:read:x"));
  EXPECT_FALSE(valid_scopes({"a:b", "a:b"}));
  EXPECT_TRUE(valid_scopes({}));
}

// ---- CIDR lists --------------------------------------------------------------------------------

TEST(cidr_list_rules, normalize_returns_canonical_texts_without_duplicates_in_order) {
  const auto out =
      normalize_cidrs({"2001:DB8::/32", "10.0.0.0/8", "192.0.2.7", "2001:db8:0::/32", "::1"});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out,
            (std::vector<std::string>{"2001:db8::/32", "10.0.0.0/8", "192.0.2.7/32", "::1/128"}));
  EXPECT_EQ(normalize_cidrs({}), std::vector<std::string>{});
}

TEST(cidr_list_rules, any_bad_entry_or_too_many_refuses_the_list) {
  EXPECT_FALSE(normalize_cidrs({"10.0.0.0/8", "10.0.0.1/8"}));
  EXPECT_FALSE(normalize_cidrs({"10.0.0.0/33"}));
  EXPECT_FALSE(normalize_cidrs({""}));
  EXPECT_FALSE(normalize_cidrs({"anywhere"}));
  std::vector<std::string> thirty_two;
  for (int i = 0; i < 32; ++i) thirty_two.push_back("10.0.0." + std::to_string(i));
  EXPECT_TRUE(normalize_cidrs(thirty_two));
  thirty_two.push_back("10.0.1.0/24");
  EXPECT_FALSE(normalize_cidrs(thirty_two));
}

// ---- postback URLs
// -------------------------------------------------------------------------------

TEST(postback_url_rules, accepted_urls) {
  const std::string good[] = {
      "",
      "https://example.com",
      "https://example.com/",
      "https://example.com/hooks/keyledger?token=abc&x=1",
      "https://EXAMPLE.com:8443/path",
      "HTTPS://example.com/",
      "https://a.b.c.example.co.uk/p%20q",
      "https://192.0.2.10/hook",
      "https://[2001:db8::1]/hook",
      "https://[2001:db8::1]:443/hook",
      "https://host-name_1.example/x",
      "http://localhost/hook",
      "http://LOCALHOST:8080/hook",
      "http://127.0.0.1:9000/hook",
      "http://127.1.2.3/hook",
      "http://[::1]:8080/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "https://example.com/" + std::string(2048 - 20, 'a'),  // exactly 2048
  };
  for (const auto& url : good) EXPECT_TRUE(valid_postback_url(url)) << url;
}

TEST(postback_url_rules, refused_urls) {
  const std::string bad[] = {
      "example.com",
      "//example.com/x",
      "ftp://example.com/x",
      "javascript:alert(1)",
      "https:/example.com",
      "https://",
      "https:///path",
      "https://:443/",
      "http://example.com/hook",  // plain http off the machine
      "http://10.0.0.1/hook",
      "http://[2001:db8::1]/hook",
      "http://localhost.evil.com/hook",
      "http://127.0.0.1.evil.com/hook",
      "http://127.1/hook",  // read as 127.0.0.1 by some parsers: refused, not guessed
      "http://0x7f.0.0.1/hook",
      "https://999.1.1.1/",
      "https://1.2.3/",
      "https://user:pass@example.com/",  // userinfo: a credential in an event
      "https://user@example.com/",
      "https://@example.com/",
      "http://127.0.0.1\\@evil.com/",
      "https://example.com/#frag",  // fragment
      "https://example.com#",
      "https://exa mple.com/",
      "https://example.com/a b",
      "https://example.com/\x01",
      "https://example.com/\xc3\xa9",  // not ASCII
      "https://example.com/\"<>",
      "https://example.com:0/",
      "https://example.com:65536/",
      "https://example.com:/",
      "https://example.com:https/",
      "https://example..com/",
      "https://.example.com/",
      "https://example.com./",
      "https://exa%6dple.com/",
      "https://example.com/%zz",
      "https://example.com/%4",
      "https://[::1/",
      "https://[1.2.3.4]/",
      "https://[::1]x/",
      "https://[::1%25eth0]/",
      "https://[::1]:/",
      "https://ex[ample.com/",
      "https://example.com/[x]",
      "https://example.com/" + std::string(2048 - 19, 'a'),  // 2049
      "https://example.com/\0x"s,
  };
  for (const auto& url : bad) EXPECT_FALSE(valid_postback_url(url)) << url;
}

// ---- rate limits, statuses, policies
// -------------------------------------------------------------

TEST(rate_limit_rules, bounds) {
  EXPECT_TRUE(valid_rate_limit({1, 1}));
  EXPECT_TRUE(valid_rate_limit({1'000'000, 86'400}));
  EXPECT_FALSE(valid_rate_limit({0, 60}));
  EXPECT_FALSE(valid_rate_limit({1'000'001, 60}));
  EXPECT_FALSE(valid_rate_limit({10, 0}));
  EXPECT_FALSE(valid_rate_limit({10, 86'401}));
}

TEST(key_status_names, round_trip_and_refuse_others) {
  for (const auto s :
       {key_status::active, key_status::disabled, key_status::expired, key_status::revoked}) {
    EXPECT_EQ(parse_key_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(key_status::disabled), "disabled");
  EXPECT_FALSE(parse_key_status("Active"));
  EXPECT_FALSE(parse_key_status(""));
  EXPECT_FALSE(parse_key_status("rotated"));
}

TEST(key_policy_rules, bounds) {
  using std::chrono::days;
  EXPECT_TRUE(valid_key_policy(key_policy{}));
  EXPECT_TRUE(valid_key_policy({days{1}, days{1}, false, true}));
  EXPECT_TRUE(valid_key_policy({days{3650}, days{3650}, true, false}));
  EXPECT_FALSE(valid_key_policy({days{0}, days{365}, false, true}));
  EXPECT_FALSE(valid_key_policy({days{366}, days{365}, false, true}));  // default > max
  EXPECT_FALSE(valid_key_policy({days{90}, days{3651}, false, true}));
  EXPECT_FALSE(valid_key_policy({days{1}, days{0}, false, true}));
  EXPECT_FALSE(valid_key_policy({days{-1}, days{365}, false, true}));
}

}  // namespace
}  // namespace keyledger::domain

#include "domain/net.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace keyledger::domain {
namespace {

using namespace std::string_literals;

ip_address ip(const std::string& text) {
  const auto parsed = parse_ip(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(ip_address{});
}

cidr net(const std::string& text) {
  const auto parsed = parse_cidr(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(cidr{});
}

// ---- parse_ip and to_string ----------------------------------------------------------------

struct canonical_case {
  std::string input;
  std::string canonical;
};

TEST(net_parse_ip, valid_texts_parse_and_print_canonically) {
  const canonical_case cases[] = {
      // IPv4
      {"0.0.0.0", "0.0.0.0"},
      {"127.0.0.1", "127.0.0.1"},
      {"255.255.255.255", "255.255.255.255"},
      {"192.0.2.7", "192.0.2.7"},
      {"10.0.0.0", "10.0.0.0"},
      // IPv6, RFC 4291 forms and RFC 5952 output
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"::0", "::"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"2001:db8::1", "2001:db8::1"},
      {"2001:DB8::1", "2001:db8::1"},                              // 4.3: lowercase
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},  // 4.1: no leading zeros
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},               // 4.2.3: first of equal runs
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},                     // 4.2.3: the longest run
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},            // 4.2.2: one zero is not "::"
      {"2001:db8::", "2001:db8::"},
      {"fe80::1:2", "fe80::1:2"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"1::8", "1::8"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      // Embedded dotted quad
      {"::ffff:1.2.3.4", "1.2.3.4"},  // IPv4-mapped prints as IPv4
      {"::FFFF:1.2.3.4", "1.2.3.4"},
      {"::ffff:0102:0304", "1.2.3.4"},
      {"0:0:0:0:0:ffff:1.2.3.4", "1.2.3.4"},
      {"::1.2.3.4", "::102:304"},  // IPv4-compatible (deprecated) is not IPv4
      {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
      {"::ffff:0:0", "0.0.0.0"},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_ip(c.input);
    ASSERT_TRUE(parsed.has_value()) << c.input;
    EXPECT_EQ(to_string(*parsed), c.canonical) << c.input;
    // The canonical text parses back to the same address.
    EXPECT_EQ(parse_ip(to_string(*parsed)), parsed) << c.input;
  }
}

TEST(net_parse_ip, invalid_texts_are_refused) {
  const std::string bad[] = {
      "",
      " ",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.256",
      "256.0.0.0",
      "01.2.3.4",  // leading zero (octal in some parsers)
      "1.2.3.04",
      "1.2.3.00",
      "1.2.3.-1",
      "1.2.3.+1",
      "1..3.4",
      ".1.2.3",
      "1.2.3.",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1.2.3.4/32",
      "0x7f.0.0.1",
      "127.1",
      "1234.0.0.1",
      "a.b.c.d",
      ":",
      ":::",
      "::::",
      "1:2",
      "1::2::3",  // two "::"
      ":1::",
      "::1:",
      "1:",
      ":1",
      "1:2:3:4:5:6:7",      // too few groups
      "1:2:3:4:5:6:7:8:9",  // too many groups
      "1:2:3:4:5:6:7:8::",  // "::" must stand for at least one group
      "::1:2:3:4:5:6:7:8",
      "1:2:3:4::5:6:7:8",
      "12345::",  // group of five digits
      "00000::1",
      "g::1",
      "::g",
      "::1%eth0",  // no zones
      "fe80::1%1",
      "[::1]",  // no brackets
      "::ffff:1.2.3",
      "::ffff:1.2.3.256",
      "::ffff:01.2.3.4",
      "1.2.3.4::",  // a dotted quad only at the end
      "::1.2.3.4:1",
      "1:2:3:4:5:6:7:1.2.3.4",  // quad makes nine groups
      "1:2:3:4:5:6:7:8:1.2.3.4",
      "::1\0"s,
      "1.2.3.4\0"s,
      std::string(46, '1'),
      std::string(1000, ':'),
  };
  for (const auto& text : bad) EXPECT_FALSE(parse_ip(text).has_value()) << text;
}

TEST(net_parse_ip, ipv4_and_mapped_ipv4_are_the_same_address) {
  EXPECT_EQ(ip("192.0.2.1"), ip("::ffff:192.0.2.1"));
  EXPECT_EQ(ip("192.0.2.1"), ip("::ffff:c000:201"));
  EXPECT_TRUE(ip("192.0.2.1").is_v4());
  EXPECT_TRUE(ip("::ffff:0.0.0.0").is_v4());
  EXPECT_FALSE(ip("::1").is_v4());
  EXPECT_FALSE(ip("::").is_v4());
  EXPECT_FALSE(ip("::fffe:1.2.3.4").is_v4());
  EXPECT_FALSE(ip("1::ffff:1.2.3.4").is_v4());
  const std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
  EXPECT_EQ(ip("1.2.3.4").bytes, mapped);
}

TEST(net_parse_ip, bytes_are_in_network_order) {
  const std::array<std::uint8_t, 16> expected{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,
                                              0,    0,    0,    0,    0, 0, 0x12, 0x34};
  EXPECT_EQ(ip("2001:db8::1234").bytes, expected);
}

TEST(net_is_loopback, only_127_slash_8_and_colon_colon_1) {
  for (const char* text :
       {"127.0.0.1", "127.255.255.255", "127.0.0.0", "::1", "::ffff:127.0.0.2"}) {
    EXPECT_TRUE(is_loopback(ip(text))) << text;
  }
  for (const char* text : {"128.0.0.1", "126.255.255.255", "0.0.0.0", "::", "::2", "1::1",
                           "::127.0.0.1", "10.0.0.1", "fe80::1"}) {
    EXPECT_FALSE(is_loopback(ip(text))) << text;
  }
}

// ---- parse_cidr ------------------------------------------------------------------------------

TEST(net_parse_cidr, valid_networks_parse_and_print_canonically) {
  const canonical_case cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"192.0.2.7/32", "192.0.2.7/32"},
      {"192.0.2.7", "192.0.2.7/32"},  // a bare address is a host network
      {"192.0.2.0/24", "192.0.2.0/24"},
      {"172.16.0.0/12", "172.16.0.0/12"},
      {"::/0", "::/0"},
      {"::1", "::1/128"},
      {"::1/128", "::1/128"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:DB8:0::/32", "2001:db8::/32"},
      {"2001:db8::/127", "2001:db8::/127"},
      {"fe80::/10", "fe80::/10"},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8"},  // mapped IPv6 text is the IPv4 network
      {"::ffff:0:0/96", "0.0.0.0/0"},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_cidr(c.input);
    ASSERT_TRUE(parsed.has_value()) << c.input;
    EXPECT_EQ(to_string(*parsed), c.canonical) << c.input;
    EXPECT_EQ(parse_cidr(to_string(*parsed)), parsed) << c.input;
  }
}

TEST(net_parse_cidr, ipv4_prefix_is_stored_in_the_mapped_representation) {
  EXPECT_EQ(net("10.0.0.0/8").prefix_length, 104);
  EXPECT_EQ(net("0.0.0.0/0").prefix_length, 96);
  EXPECT_EQ(net("1.2.3.4").prefix_length, 128);
  EXPECT_EQ(net("::/0").prefix_length, 0);
  EXPECT_EQ(net("2001:db8::/32").prefix_length, 32);
}

TEST(net_parse_cidr, invalid_networks_are_refused) {
  const std::string bad[] = {
      "",
      "/",
      "/8",
      "10.0.0.0/",
      "10.0.0.0/33",  // too long for IPv4
      "10.0.0.0/-1",
      "10.0.0.0/+8",
      "10.0.0.0/08",  // leading zero
      "10.0.0.0/8/8",
      "10.0.0.0/8 ",
      "10.0.0.0 /8",
      "10.0.0.0/a",
      "10.0.0.0/1000",
      "10.0.0.1/8",    // host bits set
      "192.0.2.1/24",  // host bits set
      "0.0.0.1/0",
      "::/129",
      "::1/127",         // host bits set
      "2001:db8::1/32",  // host bits set
      "::1/0",
      "::ffff:10.0.0.1/104",
      "::ffff:0:0/95",  // host bits set (the ffff)
      "1.2.3/24",
      "::1%eth0/128",
      "[::1]/128",
  };
  for (const auto& text : bad) EXPECT_FALSE(parse_cidr(text).has_value()) << text;
}

// ---- contains and ip_allowed -----------------------------------------------------------------

struct contains_case {
  std::string network;
  std::string address;
  bool inside;
};

TEST(net_cidr_contains, table) {
  const contains_case cases[] = {
      {"10.0.0.0/8", "10.0.0.0", true},
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"192.0.2.128/25", "192.0.2.128", true},
      {"192.0.2.128/25", "192.0.2.127", false},
      {"192.0.2.7/32", "192.0.2.7", true},
      {"192.0.2.7/32", "192.0.2.8", false},
      {"0.0.0.0/0", "1.2.3.4", true},
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/0", "::1", false},  // an IPv4 network holds no IPv6 address
      {"0.0.0.0/0", "2001:db8::1", false},
      {"::/0", "::1", true},
      {"::/0", "2001:db8::1", true},
      {"::/0", "1.2.3.4", true},  // every address, IPv4 (mapped) included
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"2001:db8::/33", "2001:db8:7fff::", true},
      {"2001:db8::/33", "2001:db8:8000::", false},
      {"::1/128", "::1", true},
      {"::1/128", "::2", false},
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},  // a dual-stack socket's view of 10.1.2.3
      {"::ffff:10.0.0.0/104", "10.1.2.3", true},
      {"fe80::/10", "febf::1", true},
      {"fe80::/10", "fec0::1", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(net(c.network).contains(ip(c.address)), c.inside) << c.network << " " << c.address;
  }
}

TEST(net_ip_allowed, empty_list_allows_everything_otherwise_any_match) {
  EXPECT_TRUE(ip_allowed({}, ip("203.0.113.9")));
  EXPECT_TRUE(ip_allowed({}, ip("2001:db8::1")));
  const std::vector<cidr> allowed{net("10.0.0.0/8"), net("2001:db8::/32")};
  EXPECT_TRUE(ip_allowed(allowed, ip("10.9.8.7")));
  EXPECT_TRUE(ip_allowed(allowed, ip("2001:db8::7")));
  EXPECT_FALSE(ip_allowed(allowed, ip("192.0.2.1")));
  EXPECT_FALSE(ip_allowed(allowed, ip("2001:db9::1")));
  EXPECT_FALSE(ip_allowed({net("192.0.2.7")}, ip("192.0.2.8")));
}

TEST(net_parse, never_crashes_on_arbitrary_bytes) {
  // A cheap deterministic fuzz: every short string over a hostile alphabet.
  const std::string alphabet = ":./0129afFx%[] \xff";
  std::string s;
  int parsed = 0;
  for (std::size_t a = 0; a < alphabet.size(); ++a) {
    for (std::size_t b = 0; b < alphabet.size(); ++b) {
      for (std::size_t c = 0; c < alphabet.size(); ++c) {
        for (std::size_t d = 0; d < alphabet.size(); ++d) {
          s = {alphabet[a], alphabet[b], alphabet[c], alphabet[d]};
          const auto i = parse_ip(s);
          const auto n = parse_cidr(s);
          if (i) {
            ++parsed;
            EXPECT_EQ(parse_ip(to_string(*i)), i) << s;
          }
          if (n) {
            EXPECT_EQ(parse_cidr(to_string(*n)), n) << s;
          }
        }
      }
    }
  }
  EXPECT_GT(parsed, 0);  // e.g. "::1" and "1::" are among them
}

}  // namespace
}  // namespace keyledger::domain

namespace keyledger::domain {
namespace {

bool public_text(std::string_view text) {
  const auto ip = parse_ip(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip && is_public_unicast(*ip);
}

TEST(PostbackAddresses, OnlyPublicUnicastIsPublic) {
  for (const auto* ok :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e", "2002:808:808::1", "64:ff9b::808:808"}) {
    EXPECT_TRUE(public_text(ok)) << ok;
  }
  for (const auto* no : {"0.0.0.0",
                         "127.0.0.1",
                         "127.1.2.3",
                         "10.0.0.1",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "100.64.0.1",
                         "169.254.169.254",
                         "224.0.0.1",
                         "239.255.255.250",
                         "255.255.255.255",
                         "240.0.0.1",
                         "192.0.2.1",
                         "198.18.0.1",
                         "198.51.100.7",
                         "203.0.113.9",
                         "192.0.0.8",
                         "::",
                         "::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",
                         "::127.0.0.1",
                         "fc00::1",
                         "fd00:ec2::254",
                         "fe80::1",
                         "ff02::1",
                         "2001:db8::1",
                         "2002:a00:1::1",
                         "64:ff9b::a00:1",
                         "64:ff9b::7f00:1",
                         "100::1"}) {
    EXPECT_FALSE(public_text(no)) << no;
  }
}

}  // namespace
}  // namespace keyledger::domain

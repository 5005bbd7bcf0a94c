#include "infra/crypto/crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace keyledger::infra {
namespace {

std::string hex(const sha256_digest& d) { return to_hex(d); }

// ---- SHA-256 --------------------------------------------------------------------------------

TEST(sha256, known_vectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(sha256_hasher, incremental_equals_one_shot) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sha256_hasher h;
  h.update(std::string_view(text).substr(0, 10));
  const std::string rest = text.substr(10);
  h.update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(rest.data()),
                                         rest.size()));
  EXPECT_EQ(h.finish(), sha256(text));
}

TEST(sha256_hasher, empty_input) {
  sha256_hasher h;
  EXPECT_EQ(hex(h.finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// ---- hex ------------------------------------------------------------------------------------

TEST(hex, encodes_lowercase) {
  const std::array<std::uint8_t, 5> bytes{0x00, 0x01, 0xab, 0xcd, 0xff};
  EXPECT_EQ(to_hex(bytes), "0001abcdff");
  EXPECT_EQ(to_hex(std::span<const std::uint8_t>{}), "");
}

TEST(hex, round_trips_every_byte_value) {
  std::array<std::uint8_t, 256> all{};
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  const std::string text = to_hex(all);
  ASSERT_EQ(text.size(), 512u);
  std::array<std::uint8_t, 256> back{};
  ASSERT_TRUE(from_hex(text, back));
  EXPECT_EQ(back, all);
}

TEST(hex, decodes_either_case) {
  std::array<std::uint8_t, 3> out{};
  ASSERT_TRUE(from_hex("aBcDeF", out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 3>{0xab, 0xcd, 0xef}));
}

TEST(hex, rejects_bad_input) {
  std::array<std::uint8_t, 2> out{};
  EXPECT_FALSE(from_hex("abc", out));     // too short
  EXPECT_FALSE(from_hex("abcdef", out));  // too long
  EXPECT_FALSE(from_hex("", out));
  EXPECT_FALSE(from_hex("abcg", out));
  EXPECT_FALSE(from_hex("ab c", out));
  EXPECT_FALSE(from_hex("0x12", out));
  EXPECT_FALSE(from_hex(std::string_view("ab\0c", 4), out));
  EXPECT_FALSE(from_hex("\xff\xff\xff\xff", out));
  std::array<std::uint8_t, 0> none{};
  EXPECT_TRUE(from_hex("", none));
}

// ---- HMAC-SHA256 (RFC 4231) -----------------------------------------------------------------

struct hmac_vector {
  std::string key;
  std::string data;
  std::string expected;
};

std::vector<hmac_vector> rfc4231_vectors() {
  std::string key4;
  for (int i = 1; i <= 25; ++i) key4.push_back(static_cast<char>(i));
  return {
      // Test case 1
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      // Test case 2: a key shorter than the output
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      // Test case 3
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      // Test case 4
      {key4, std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Test case 6: a key larger than the block size
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      // Test case 7: key and data larger than the block size
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(hmac_key_hasher, rfc4231_vectors) {
  for (const auto& v : rfc4231_vectors()) {
    const hmac_key_hasher h{secret(std::string(v.key))};
    EXPECT_EQ(h.hash_hex(v.data), v.expected);
    // Again: each hash starts from the same keyed states and must give the same answer.
    EXPECT_EQ(hex(h.hash(v.data)), v.expected);
  }
}

TEST(hmac_key_hasher, repeated_and_interleaved_hashers_stay_independent) {
  // Several live hashers used round-robin: each keeps its own keyed states.
  const auto vectors = rfc4231_vectors();
  std::vector<std::unique_ptr<hmac_key_hasher>> hashers;
  for (const auto& v : vectors) {
    hashers.push_back(std::make_unique<hmac_key_hasher>(secret(std::string(v.key))));
  }
  for (int round = 0; round < 5; ++round) {
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      EXPECT_EQ(hashers[i]->hash_hex(vectors[i].data), vectors[i].expected) << "vector " << i;
    }
  }
}

TEST(hmac_key_hasher, a_new_hasher_never_reuses_a_destroyed_ones_state) {
  const auto vectors = rfc4231_vectors();
  for (int round = 0; round < 3; ++round) {
    for (const auto& v : vectors) {
      // Likely allocated at the same address as the previous one.
      auto h = std::make_unique<hmac_key_hasher>(secret(std::string(v.key)));
      EXPECT_EQ(h->hash_hex(v.data), v.expected);
    }
  }
}

TEST(hmac_key_hasher, different_keys_give_different_hashes) {
  const hmac_key_hasher a{secret(std::string(32, 'a'))};
  const hmac_key_hasher b{secret(std::string(32, 'b'))};
  EXPECT_NE(a.hash("kl_live_x"), b.hash("kl_live_x"));
  EXPECT_NE(a.hash("kl_live_x"), a.hash("kl_live_y"));
  EXPECT_NE(a.hash("kl_live_x"), sha256("kl_live_x"));  // keyed, not a plain hash
}

TEST(hmac_key_hasher,
     given_keys_and_messages_of_every_length_around_the_block_then_it_matches_openssl) {
  // The hasher computes HMAC from its own keyed SHA-256 states: every key length around the
  // 64-byte block (shorter, equal, longer: hashed first) and messages across block boundaries
  // must give what OpenSSL's own HMAC gives.
  for (std::size_t key_size : {0u, 1u, 31u, 32u, 63u, 64u, 65u, 127u, 128u, 200u}) {
    std::string key;
    for (std::size_t i = 0; i < key_size; ++i)
      key.push_back(static_cast<char>((i * 37 + 11) & 0xff));
    const hmac_key_hasher h{secret(std::string(key))};
    for (std::size_t size = 0; size < 300; size += 7) {
      std::string message;
      for (std::size_t i = 0; i < size; ++i)
        message.push_back(static_cast<char>((i * 13 + key_size) & 0xff));
      std::array<unsigned char, 32> want{};
      std::size_t length = 0;
      ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                          want.data(), want.size(), &length),
                nullptr);
      ASSERT_EQ(length, want.size());
      const auto got = h.hash(message);
      EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()))
          << "key of " << key_size << " bytes, message of " << size;
    }
  }
}

TEST(hmac_key_hasher, empty_key_matches_openssl_reference) {
  // HMAC-SHA256 with an empty key and empty message (a widely published value).
  const hmac_key_hasher h{secret{}};
  EXPECT_EQ(h.hash_hex(""), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(hmac_key_hasher, thread_safe_under_concurrent_use) {
  const hmac_key_hasher shared{secret(std::string(64, 'k'))};
  constexpr int per_thread = 2000;
  std::vector<std::string> inputs;
  std::vector<sha256_digest> expected;
  for (int i = 0; i < per_thread; ++i) {
    inputs.push_back("kl_live_key_" + std::to_string(i));
    expected.push_back(shared.hash(inputs.back()));
  }
  constexpr int threads = 4;
  std::vector<int> mismatches(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Each thread walks the inputs from a different starting point.
      for (int i = 0; i < per_thread; ++i) {
        const int j = (i + t * 500) % per_thread;
        if (shared.hash(inputs[j]) != expected[j]) ++mismatches[t];
      }
    });
  }
  for (auto& th : pool) th.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// ---- random, clock --------------------------------------------------------------------------

TEST(openssl_random_source, produces_different_bytes) {
  openssl_random_source rng;
  std::array<std::uint8_t, 32> a{};
  std::array<std::uint8_t, 32> b{};
  rng.fill(a);
  rng.fill(b);
  EXPECT_NE(a, b);
  const std::array<std::uint8_t, 32> zero{};
  EXPECT_NE(a, zero);
}

TEST(openssl_random_source, fills_large_and_empty_spans) {
  openssl_random_source rng;
  std::vector<std::uint8_t> big(1 << 20, 0);
  rng.fill(big);
  // A 1 MiB CSPRNG output has every byte value; a zero-filled or partial fill would not.
  std::array<bool, 256> seen{};
  for (auto b : big) seen[b] = true;
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool s) { return s; }));
  rng.fill(std::span<std::uint8_t>{});
}

TEST(identifier_random_source, never_repeats_across_blocks_and_threads) {
  identifier_random_source rng;
  // 16-byte values across many 256-byte blocks, odd sizes so values straddle block ends, on
  // two threads (one block each): no value twice, none all zero (a wiped block handed out).
  auto draw = [&rng](std::vector<std::array<std::uint8_t, 17>>& out) {
    for (int i = 0; i < 2000; ++i) {
      std::array<std::uint8_t, 17> v{};
      rng.fill(v);
      out.push_back(v);
    }
  };
  std::vector<std::array<std::uint8_t, 17>> a;
  std::vector<std::array<std::uint8_t, 17>> b;
  std::thread other([&] { draw(b); });
  draw(a);
  other.join();
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());
  const std::array<std::uint8_t, 17> zero{};
  EXPECT_FALSE(std::binary_search(a.begin(), a.end(), zero));
}

TEST(identifier_random_source, fills_large_and_empty_spans) {
  identifier_random_source rng;
  std::vector<std::uint8_t> big(4096, 0);  // over the 64-byte read-ahead limit: direct
  rng.fill(big);
  std::array<bool, 256> seen{};
  for (auto x : big) seen[x] = true;
  EXPECT_GT(std::count(seen.begin(), seen.end(), true), 200);
  rng.fill(std::span<std::uint8_t>{});
  std::array<std::uint8_t, 64> largest_buffered{};
  rng.fill(largest_buffered);
  EXPECT_NE(largest_buffered, (std::array<std::uint8_t, 64>{}));
}

TEST(system_clock, is_close_to_the_real_clock) {
  const system_clock clock;
  const auto before = std::chrono::system_clock::now();
  const domain::timestamp t = clock.now();
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(t, std::chrono::floor<std::chrono::microseconds>(before));
  EXPECT_LE(t, std::chrono::ceil<std::chrono::microseconds>(after));
}

}  // namespace
}  // namespace keyledger::infra

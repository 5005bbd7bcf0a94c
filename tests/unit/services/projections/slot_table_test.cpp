#include "services/projections/slot_table.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keyledger::services {
namespace {

// The caller's array: the table stores positions into it, keyed by its strings.
class slot_table_test : public ::testing::Test {
 protected:
  std::size_t hash(const std::string& key) const { return std::hash<std::string>{}(key); }
  bool insert(const std::string& key) {
    const auto position = static_cast<std::uint32_t>(keys_.size());
    keys_.push_back(key);
    const bool added = table_.insert(
        hash(key), position, [&](std::uint32_t p) { return keys_[p] == key; },
        [&](std::uint32_t p) { return hash(keys_[p]); });
    if (!added) keys_.pop_back();
    return added;
  }
  std::optional<std::uint32_t> find(const std::string& key) const {
    return table_.find(hash(key), [&](std::uint32_t p) { return keys_[p] == key; });
  }
  bool erase(const std::string& key) {
    return table_.erase(hash(key), [&](std::uint32_t p) { return keys_[p] == key; });
  }

  std::vector<std::string> keys_;
  slot_table table_;
};

// Every key lands in the first slot: probes must walk past the others (and their tombstones).
struct colliding_table : slot_table_test {};

TEST_F(slot_table_test, given_an_empty_table_then_nothing_is_found_or_erased) {
  EXPECT_FALSE(find("a").has_value());
  EXPECT_FALSE(erase("a"));
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(slot_table_test, given_many_insertions_then_it_grows_and_finds_each_at_its_position) {
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(insert("key_" + std::to_string(i)));
  EXPECT_EQ(table_.size(), 10'000u);
  // At most half full, and a power of two.
  EXPECT_GE(table_.capacity(), 2 * table_.used());
  EXPECT_EQ(table_.capacity() & (table_.capacity() - 1), 0u);
  for (int i = 0; i < 10'000; ++i) {
    const auto p = find("key_" + std::to_string(i));
    ASSERT_TRUE(p.has_value()) << i;
    EXPECT_EQ(*p, static_cast<std::uint32_t>(i));
  }
  EXPECT_FALSE(find("key_10000").has_value());
}

TEST_F(slot_table_test, given_a_key_already_there_then_a_second_insertion_is_refused) {
  ASSERT_TRUE(insert("a"));
  EXPECT_FALSE(insert("a"));
  EXPECT_EQ(table_.size(), 1u);
  EXPECT_EQ(find("a"), std::optional<std::uint32_t>(0));
}

TEST_F(colliding_table, given_an_erased_key_then_keys_probed_past_it_are_still_found) {
  // All three share one hash, so b and c sit in the slots after a's.
  const auto same = [&](const std::string& key, std::uint32_t position) {
    return table_.insert(
        7, position, [&](std::uint32_t p) { return keys_[p] == key; },
        [](std::uint32_t) { return std::size_t(7); });
  };
  keys_ = {"a", "b", "c"};
  ASSERT_TRUE(same("a", 0));
  ASSERT_TRUE(same("b", 1));
  ASSERT_TRUE(same("c", 2));
  const auto find_same = [&](const std::string& key) {
    return table_.find(7, [&](std::uint32_t p) { return keys_[p] == key; });
  };
  ASSERT_TRUE(table_.erase(7, [&](std::uint32_t p) { return keys_[p] == "a"; }));
  EXPECT_FALSE(find_same("a").has_value());
  EXPECT_EQ(find_same("b"), std::optional<std::uint32_t>(1));
  EXPECT_EQ(find_same("c"), std::optional<std::uint32_t>(2));
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(table_.used(), 3u);  // the tombstone still counts towards the load
  // A key already there behind the tombstone is still refused; a new one reuses the tombstone.
  EXPECT_FALSE(same("c", 2));
  keys_.push_back("d");
  ASSERT_TRUE(same("d", 3));
  EXPECT_EQ(table_.used(), 3u);
  EXPECT_EQ(find_same("d"), std::optional<std::uint32_t>(3));
}

TEST_F(colliding_table, given_a_key_there_then_assign_replaces_its_position_else_inserts) {
  // Keys compare by text: positions 0 and 2 hold the same key, as two keys of one hash do.
  keys_ = {"a", "b", "a"};
  const auto assign = [&](const std::string& key, std::uint32_t position) {
    return table_.assign(
        7, position, [&](std::uint32_t p) { return keys_[p] == key; },
        [](std::uint32_t) { return std::size_t(7); });
  };
  const auto find_same = [&](const std::string& key) {
    return table_.find(7, [&](std::uint32_t p) { return keys_[p] == key; });
  };
  EXPECT_FALSE(assign("a", 0));  // new: inserted
  EXPECT_FALSE(assign("b", 1));
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_TRUE(assign("a", 2));  // there: the later position takes its place
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(table_.used(), 2u);
  EXPECT_EQ(find_same("a"), std::optional<std::uint32_t>(2));
  EXPECT_EQ(find_same("b"), std::optional<std::uint32_t>(1));
  // Behind a tombstone: an erased key's slot is reused, a key past it is still replaced.
  ASSERT_TRUE(table_.erase(7, [&](std::uint32_t p) { return keys_[p] == "a"; }));
  keys_.push_back("b");  // position 3
  EXPECT_TRUE(assign("b", 3));
  EXPECT_EQ(find_same("b"), std::optional<std::uint32_t>(3));
  EXPECT_FALSE(find_same("a").has_value());
  keys_.push_back("c");  // position 4
  EXPECT_FALSE(assign("c", 4));
  EXPECT_EQ(table_.used(), 2u);  // in the tombstone
  EXPECT_EQ(find_same("c"), std::optional<std::uint32_t>(4));
}

TEST_F(slot_table_test, given_insertions_and_erasures_in_turn_then_tombstones_do_not_grow_it) {
  for (int round = 0; round < 5'000; ++round) {
    const std::string key = "k" + std::to_string(round);
    ASSERT_TRUE(insert(key));
    if (round >= 8) {
      ASSERT_TRUE(erase("k" + std::to_string(round - 8)));
    }
  }
  EXPECT_EQ(table_.size(), 8u);
  // Growth drops the tombstones and sizes for the live keys only.
  EXPECT_LE(table_.capacity(), 64u);
  for (int round = 4'992; round < 5'000; ++round) {
    EXPECT_TRUE(find("k" + std::to_string(round)).has_value()) << round;
  }
  EXPECT_FALSE(find("k0").has_value());
}

}  // namespace
}  // namespace keyledger::services

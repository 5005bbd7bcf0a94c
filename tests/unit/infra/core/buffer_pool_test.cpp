// buffer_pool: a body's capacity given back on a thread serves that thread's next take(),
// within its bounds; what it takes is always empty.
#include "infra/core/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keyledger::infra {
namespace {

/// Empties this thread's pool (takes more than it can keep).
void drain() {
  for (std::size_t i = 0; i < buffer_pool::kept + 1; ++i) (void)buffer_pool::take(0);
}

TEST(buffer_pool_test, given_a_buffer_given_back_then_the_next_take_reuses_its_storage_empty) {
  drain();
  std::string body = buffer_pool::take(512);
  EXPECT_TRUE(body.empty());
  EXPECT_GE(body.capacity(), 512u);
  body.assign(300, 's');
  const char* storage = body.data();
  buffer_pool::give_back(std::move(body));

  std::string again = buffer_pool::take(256);
  EXPECT_EQ(again.data(), storage);
  EXPECT_TRUE(again.empty());
  EXPECT_GE(again.capacity(), 512u);
  // The kept storage itself was zeroed, not only emptied: none of the 300 bytes remains.
  EXPECT_EQ(std::string_view(storage, 300).find_first_not_of('\0'), std::string_view::npos);
}

TEST(buffer_pool_test, given_a_buffer_emptied_before_it_is_given_back_then_its_storage_is_zeroed) {
  drain();
  // A HEAD answer's body is cleared before the server gives it back: the bytes are still there.
  std::string body = buffer_pool::take(512);
  body.assign(400, 'k');
  const char* storage = body.data();
  body.clear();
  buffer_pool::give_back(std::move(body));
  const std::string again = buffer_pool::take(64);
  ASSERT_EQ(again.data(), storage);
  EXPECT_EQ(std::string_view(storage, 400).find_first_not_of('\0'), std::string_view::npos);
}

TEST(buffer_pool_test, given_a_too_large_or_small_buffer_then_it_is_not_kept) {
  drain();
  std::string huge;
  huge.reserve(buffer_pool::largest_kept + 1);
  const char* huge_storage = huge.data();
  buffer_pool::give_back(std::move(huge));
  buffer_pool::give_back(std::string("short"));
  const std::string next = buffer_pool::take(64);
  EXPECT_NE(next.data(), huge_storage);
  EXPECT_LT(next.capacity(), buffer_pool::largest_kept);
}

TEST(buffer_pool_test, given_more_buffers_than_it_keeps_then_it_keeps_at_most_its_bound) {
  drain();
  std::vector<const char*> given;
  for (std::size_t i = 0; i < buffer_pool::kept + 5; ++i) {
    std::string own(200 + i, 'x');
    given.push_back(own.data());
    buffer_pool::give_back(std::move(own));
  }
  std::size_t reused = 0;
  for (std::size_t i = 0; i < buffer_pool::kept + 5; ++i) {
    const std::string b = buffer_pool::take(16);
    for (const char* p : given) reused += b.data() == p ? 1 : 0;
  }
  EXPECT_LE(reused, buffer_pool::kept);
  EXPECT_GT(reused, 0u);
}

TEST(buffer_pool_test, given_two_threads_then_each_keeps_its_own_buffers) {
  drain();
  std::string mine(1000, 'm');
  const char* storage = mine.data();
  buffer_pool::give_back(std::move(mine));
  bool other_got_mine = true;
  std::thread other([&] { other_got_mine = buffer_pool::take(1000).data() == storage; });
  other.join();
  EXPECT_FALSE(other_got_mine);
  EXPECT_EQ(buffer_pool::take(1000).data(), storage);
}

}  // namespace
}  // namespace keyledger::infra

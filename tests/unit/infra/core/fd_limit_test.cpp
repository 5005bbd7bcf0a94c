// The open-file limit at start-up: raised to the hard limit, never lowered; the HTTP connection
// limit leaves room for the process's other descriptors.
#include "infra/core/fd_limit.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>

namespace keyledger::infra {
namespace {

TEST(connection_limit, KeepsTheWantedLimitWhenDescriptorsAreAmple) {
  EXPECT_EQ(connection_limit(1048576, 10000), 10000u);
  EXPECT_EQ(connection_limit(10000 + reserved_descriptors, 10000), 10000u);
}

TEST(connection_limit, LeavesTheReserveFree) {
  // Debian's default soft limit: 1024 descriptors hold 768 connections, not 10,000.
  EXPECT_EQ(connection_limit(1024, 10000), 1024 - reserved_descriptors);
  EXPECT_EQ(connection_limit(10000, 10000), 10000 - reserved_descriptors);
}

TEST(connection_limit, HalvesATinyLimitAndNeverReturnsZero) {
  EXPECT_EQ(connection_limit(256, 10000), 128u);
  EXPECT_EQ(connection_limit(1, 10000), 1u);
  EXPECT_EQ(connection_limit(0, 10000), 10000u) << "0: the limit could not be read";
  EXPECT_EQ(connection_limit(1048576, 0), 1u);
}

TEST(raise_open_file_limit, RaisesTheSoftLimitToTheHardOneAndNeverLowersIt) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max == RLIM_INFINITY || before.rlim_max < 64) GTEST_SKIP() << "unusual limits";
  // Given a soft limit below the hard one.
  rlimit lowered = before;
  lowered.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  // When it is raised with a cap under the hard limit, then the soft limit is the cap.
  const auto cap = std::min<std::uint64_t>(before.rlim_max, 128);
  EXPECT_EQ(raise_open_file_limit(cap), cap);
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, cap);
  EXPECT_EQ(now.rlim_max, before.rlim_max);

  // A smaller cap does not lower it.
  EXPECT_EQ(raise_open_file_limit(32), cap);

  // Without a cap below it, it reaches the hard limit.
  EXPECT_EQ(raise_open_file_limit(before.rlim_max), before.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace keyledger::infra

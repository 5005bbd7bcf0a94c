// Group commit (infra/pg/group_commit): many threads, each with its own connection, appending
// at once through one append_group. Every append keeps its own meaning (its positions, its
// conflict, its metadata), the log stays gapless with a chain that verifies, and concurrent
// appends really share transactions.

#include "infra/pg/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/event_log/chain.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

TEST(group_commit, ConcurrentAppendsShareTransactionsAndKeepTheirOwnPositions) {
  test_support::test_database db;
  infra::append_group group(64);
  constexpr int threads = 16;
  constexpr int appends_each = 40;
  std::mutex seen_mutex;
  std::set<std::uint64_t> seen_seqs;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        infra::pg_event_store own(db.conninfo());
        infra::grouped_event_store store(group, own);
        const auto metadata = sample_metadata();
        for (int i = 0; i < appends_each; ++i) {
          // Each append its own new stream: one or two events.
          std::vector<infra::new_event> events{make_event("Tick", "{}")};
          if (i % 2 == 1) events.push_back(make_event("Tock", "{}"));
          const std::string stream = "s_" + std::to_string(t) + "_" + std::to_string(i);
          const auto r = store.append(stream, 0, events, metadata, 1700000000000000 + i);
          std::lock_guard lock(seen_mutex);
          if (r.duplicate || r.stream_version != events.size() ||
              r.last_seq - r.first_seq + 1 != events.size()) {
            ++failures;
          }
          for (auto s = r.first_seq; s <= r.last_seq; ++s) {
            if (!seen_seqs.insert(s).second) ++failures;  // a position given twice
          }
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  const std::uint64_t events = threads * (appends_each + appends_each / 2);
  ASSERT_EQ(seen_seqs.size(), events);
  EXPECT_EQ(*seen_seqs.begin(), 1u);
  EXPECT_EQ(*seen_seqs.rbegin(), events);  // with the count: gapless
  EXPECT_EQ(group.appends(), static_cast<std::uint64_t>(threads * appends_each));
  // Sixteen threads on one append lock: appends waited for each other and went together.
  EXPECT_LT(group.batches(), group.appends());

  infra::pg_event_store reader(db.conninfo());
  const auto chain = infra::verify_chain(reader);
  EXPECT_TRUE(chain.ok) << chain.problem << " at " << chain.first_bad_seq;
  EXPECT_EQ(chain.events_checked, events);
  // Each event carries the metadata of its own append.
  const auto all = reader.read_all(0, 10);
  ASSERT_FALSE(all.empty());
  EXPECT_NE(all.front().metadata.find("req_0001"), std::string::npos);
}

TEST(group_commit, OfTwoAppendsToOneNewStreamExactlyOneWinsAndTheOtherConflicts) {
  test_support::test_database db;
  infra::append_group group(64);
  constexpr int threads = 8;
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      infra::pg_event_store own(db.conninfo());
      own.head_seq();  // connected before the race
      infra::grouped_event_store store(group, own);
      const std::vector<infra::new_event> events{make_event("Tick", "{}")};
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      switch (error_of([&] { store.append("contended", 0, events, sample_metadata(), 1); })) {
        case infra::errc::ok:
          ++wins;
          break;
        case infra::errc::conflict:
          ++conflicts;
          break;
        default:
          ++other;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), threads - 1);
  EXPECT_EQ(other.load(), 0);
  infra::pg_event_store reader(db.conninfo());
  EXPECT_EQ(reader.head_seq(), 1u);
}

TEST(group_commit, AnInvalidAppendIsRefusedAloneAndTheOthersOfItsBatchAreWritten) {
  test_support::test_database db;
  infra::append_group group(64);
  infra::pg_event_store own(db.conninfo());
  infra::grouped_event_store store(group, own);
  const std::vector<infra::new_event> none;
  EXPECT_EQ(error_of([&] { store.append("empty", 0, none, sample_metadata(), 1); }),
            infra::errc::bad_request);
  const std::vector<infra::new_event> one{make_event("Tick", "{}")};
  const auto r = store.append("fine", 0, one, sample_metadata(), 1);
  EXPECT_EQ(r.first_seq, 1u);
  // The same event again: a retry, answered with the stored position.
  const auto again = store.append("fine", 0, one, sample_metadata(), 1);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.first_seq, 1u);
}

TEST(group_commit, WhenTheDatabaseIsUnreachableEveryAppendOfTheBatchGetsTheError) {
  infra::append_group group(64);
  constexpr int threads = 4;
  std::atomic<int> unavailable{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      // Nothing listens on port 1.
      infra::pg_event_store own("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
      infra::grouped_event_store store(group, own);
      const std::vector<infra::new_event> events{make_event("Tick", "{}")};
      if (error_of([&] { store.append("s", 0, events, sample_metadata(), 1); }) ==
          infra::errc::unavailable) {
        ++unavailable;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(unavailable.load(), threads);
  // And the group is not left stuck: it still leads batches afterwards.
  EXPECT_EQ(group.appends(), static_cast<std::uint64_t>(threads));
}

}  // namespace
}  // namespace keyledger::integration

// The global sequence under concurrency: many appenders (each its own connection, some streams
// contended so appends conflict; some appends span two streams) and a reader that follows the log.
// A reader that has read up to N must never later find an event at or below N, and must never see a
// gap.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

constexpr int writers = 6;
constexpr int appends_per_writer = 60;

TEST(gapless_global_sequence, ConcurrentAppendersAndAFollowingReader) {
  test_support::test_database db;

  std::atomic<std::uint64_t> events_appended{0};
  std::atomic<std::uint64_t> successful_appends{0};
  std::atomic<std::uint64_t> conflicts{0};
  std::atomic<int> writers_done{0};
  std::atomic<int> writer_failures{0};

  auto writer = [&](int id) {
    try {
      infra::pg_event_store store(db.conninfo());
      const auto metadata = sample_metadata();
      // Two streams every writer fights over, and one of its own.
      const std::string streams[] = {"hot_a", "hot_b", "own_" + std::to_string(id)};
      std::uint64_t known_version[3] = {0, 0, 0};
      for (int i = 0; i < appends_per_writer; ++i) {
        int s = (i + id) % 3;
        // One to three events per append, so positions advance unevenly.
        std::vector<infra::new_event> events;
        for (int n = 0; n <= (i % 3); ++n) {
          events.push_back(make_event("Tick", "{\"writer\":" + std::to_string(id) + "}"));
        }
        try {
          if (i % 4 == 3) {
            // Every fourth: a contended stream and its own one together (append_all).
            const int hot = s == 2 ? 0 : s;
            const std::vector<infra::new_event> own{make_event("Tock", "{}")};
            const std::vector<infra::stream_append> items{
                {streams[hot], known_version[hot], events}, {streams[2], known_version[2], own}};
            try {
              const auto r = store.append_all(items, metadata, 1700000000000000 + i);
              known_version[hot] = r[0].stream_version;
              known_version[2] = r[1].stream_version;
              events_appended += events.size() + own.size();
            } catch (const infra::error& e) {
              if (e.code() == infra::errc::conflict)
                known_version[2] = store.read_stream(streams[2]).size();
              s = hot;  // the handler below refreshes the contended stream's version
              throw;
            }
          } else {
            const auto r =
                store.append(streams[s], known_version[s], events, metadata, 1700000000000000 + i);
            known_version[s] = r.stream_version;
            events_appended += events.size();
          }
          ++successful_appends;
        } catch (const infra::error& e) {
          if (e.code() != infra::errc::conflict) throw;
          ++conflicts;
          known_version[s] = store.read_stream(streams[s]).size();
        }
      }
    } catch (...) {
      ++writer_failures;
    }
    ++writers_done;
  };

  // The reader follows the log from its checkpoint and checks, on its own plain connection, that
  // the rows at or below the checkpoint are exactly 1..checkpoint every time.
  std::uint64_t checkpoint = 0;
  std::uint64_t gaps = 0;
  std::uint64_t appeared_below = 0;
  std::uint64_t reads = 0;
  auto reader = [&] {
    infra::pg_event_store store(db.conninfo());
    pqxx::connection check(db.conninfo());
    check.prepare("below",
                  "SELECT count(*), coalesce(max(global_seq), 0) FROM events "
                  "WHERE global_seq <= $1");
    for (;;) {
      const bool last_round = writers_done.load() == writers;
      const auto batch = store.read_all(checkpoint, 200);
      ++reads;
      for (const auto& e : batch) {
        if (e.global_seq != checkpoint + 1) ++gaps;
        checkpoint = e.global_seq;
      }
      pqxx::nontransaction txn(check);
      const auto r = txn.exec_prepared("below", static_cast<std::int64_t>(checkpoint));
      if (r[0][0].as<std::uint64_t>() != checkpoint || r[0][1].as<std::uint64_t>() != checkpoint) {
        ++appeared_below;
      }
      if (last_round && batch.empty()) return;
    }
  };

  std::vector<std::thread> threads;
  threads.emplace_back(reader);
  for (int id = 0; id < writers; ++id) threads.emplace_back(writer, id);
  for (auto& t : threads) t.join();

  EXPECT_EQ(writer_failures.load(), 0);
  EXPECT_EQ(gaps, 0u);
  EXPECT_EQ(appeared_below, 0u);
  EXPECT_GT(reads, 1u);
  // The contended streams did conflict, and those appends wrote nothing.
  EXPECT_GT(conflicts.load(), 0u);
  EXPECT_EQ(successful_appends.load() + conflicts.load(),
            static_cast<std::uint64_t>(writers * appends_per_writer));

  // Exactly 1..N, N = the events of the successful appends, all followed by the reader.
  infra::pg_event_store store(db.conninfo());
  EXPECT_EQ(store.head_seq(), events_appended.load());
  EXPECT_EQ(checkpoint, events_appended.load());
  const auto r =
      admin_query(db.conninfo(), "SELECT count(*), min(global_seq), max(global_seq) FROM events");
  EXPECT_EQ(r[0][0].as<std::uint64_t>(), events_appended.load());
  EXPECT_EQ(r[0][1].as<std::uint64_t>(), 1u);
  EXPECT_EQ(r[0][2].as<std::uint64_t>(), events_appended.load());

  // Within each stream, versions run 1..k in global order.
  for (const std::string stream : {"hot_a", "hot_b", "own_0"}) {
    const auto events = store.read_stream(stream);
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].version, i + 1);
      if (i > 0) {
        EXPECT_GT(events[i].global_seq, events[i - 1].global_seq);
      }
    }
  }
  const auto verification = infra::verify_chain(store);
  EXPECT_TRUE(verification.ok) << verification.problem << " at " << verification.first_bad_seq;
  EXPECT_EQ(verification.events_checked, events_appended.load());
}

}  // namespace
}  // namespace keyledger::integration

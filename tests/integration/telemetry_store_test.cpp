// pg_telemetry_store against a real PostgreSQL: last use only moves forward, the request log
// pages newest first by (at, id) and keeps each row's count, failure counters add up, purge by
// age, input that cannot be stored is skipped, and the store works with keyledger_app's
// privileges and no more.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_telemetry_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::auth_failure_count;
using infra::key_use;

constexpr std::int64_t t0 = 1'790'000'000'000'000;  // 2026-09-21, microseconds

key_use use(std::string key_id, std::int64_t at_us, std::string ip = "192.0.2.1",
            std::string code = "VALID", bool log_request = true) {
  return key_use{std::move(key_id), "ws_1", at_us, std::move(ip), std::move(code), log_request};
}

key_use uses_of(std::string key_id, std::int64_t at_us, std::uint32_t count,
                std::string ip = "192.0.2.1", std::string code = "VALID", bool log_request = true) {
  key_use u = use(std::move(key_id), at_us, std::move(ip), std::move(code), log_request);
  u.count = count;
  return u;
}

auth_failure_count failure(std::string workspace, std::string ip, std::string code,
                           std::uint64_t count, std::int64_t first, std::int64_t last) {
  return auth_failure_count{
      std::move(workspace), std::move(ip), std::move(code), count, first, last};
}

class telemetry_store_test : public ::testing::Test {
 protected:
  void write(const std::vector<key_use>& uses,
             const std::vector<auth_failure_count>& failures = {}) {
    store_.write(uses, failures);
  }

  std::optional<infra::last_use> last_use_of(const std::string& key_id) {
    const std::vector<std::string> ids{key_id};
    const auto found = store_.last_uses(ids);
    if (found.empty()) return std::nullopt;
    EXPECT_EQ(found.size(), 1u);
    return found.front();
  }

  std::size_t count_rows(const std::string& table) {
    return admin_query(db_.conninfo(), "SELECT count(*) FROM " + table)[0][0].as<std::size_t>();
  }

  test_support::test_database db_;
  infra::pg_telemetry_store store_{db_.conninfo()};
};

TEST_F(telemetry_store_test, LastUseMovesForwardOnly) {
  write({use("key_1", t0 + 100, "192.0.2.1")});
  write({use("key_1", t0 + 50, "192.0.2.2")});  // a late batch
  auto last = last_use_of("key_1");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->at_us, t0 + 100);
  EXPECT_EQ(last->ip, "192.0.2.1");

  write({use("key_1", t0 + 200, "2001:db8::1")});
  last = last_use_of("key_1");
  EXPECT_EQ(last->at_us, t0 + 200);
  EXPECT_EQ(last->ip, "2001:db8::1");

  // Within one batch the latest use wins, whatever the order.
  write({use("key_2", t0 + 30, "198.51.100.3"), use("key_2", t0 + 10, "198.51.100.1"),
         use("key_2", t0 + 20, "198.51.100.2")});
  last = last_use_of("key_2");
  EXPECT_EQ(last->at_us, t0 + 30);
  EXPECT_EQ(last->ip, "198.51.100.3");
  // The same instant again does not move it either.
  write({use("key_2", t0 + 30, "198.51.100.9")});
  EXPECT_EQ(last_use_of("key_2")->ip, "198.51.100.3");
}

TEST_F(telemetry_store_test, LastUsesReturnsTheKnownKeysOnly) {
  write({use("key_1", t0, ""), use("key_2", t0 + 1)});
  const std::vector<std::string> ids{"key_1", "key_2", "key_unknown", "", "bad\xff"};
  auto found = store_.last_uses(ids);
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.key_id < b.key_id; });
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].key_id, "key_1");
  EXPECT_EQ(found[0].ip, "");  // unknown IP
  EXPECT_EQ(found[0].at_us, t0);
  EXPECT_EQ(found[1].key_id, "key_2");
  EXPECT_TRUE(store_.last_uses({}).empty());
}

TEST_F(telemetry_store_test, OffTheRecordUsesUpdateLastUseButLogNothing) {
  write({use("key_otr", t0 + 5, "192.0.2.9", "VALID", false),
         use("key_logged", t0 + 6, "192.0.2.9", "VALID", true)});
  EXPECT_EQ(last_use_of("key_otr")->at_us, t0 + 5);
  EXPECT_TRUE(store_.request_log("key_otr", std::nullopt, 10).empty());
  EXPECT_EQ(store_.request_log("key_logged", std::nullopt, 10).size(), 1u);
  EXPECT_EQ(count_rows("key_requests"), 1u);
}

TEST_F(telemetry_store_test, RequestLogPagesNewestFirstWithACursor) {
  // 25 uses of key_1 over 10 distinct instants (several share one), interleaved with key_2.
  std::vector<key_use> uses;
  for (int i = 0; i < 25; ++i) {
    uses.push_back(use("key_1", t0 + (i % 10) * 1000, "192.0.2." + std::to_string(i),
                       i % 3 == 0 ? "FORBIDDEN_IP" : "VALID"));
    uses.push_back(use("key_2", t0 + i, "198.51.100.1"));
  }
  write({uses.begin(), uses.begin() + 20});
  write({uses.begin() + 20, uses.end()});

  std::vector<infra::request_log_entry> all;
  std::optional<std::pair<std::int64_t, std::int64_t>> cursor;
  std::vector<std::size_t> pages;
  for (;;) {
    const auto page = store_.request_log("key_1", cursor, 10);
    pages.push_back(page.size());
    all.insert(all.end(), page.begin(), page.end());
    if (page.size() < 10) break;
    cursor = std::pair{page.back().at_us, page.back().id};
  }
  EXPECT_EQ(pages, (std::vector<std::size_t>{10, 10, 5}));
  ASSERT_EQ(all.size(), 25u);
  for (std::size_t i = 1; i < all.size(); ++i) {
    // Strictly older than the one before, by (at, id).
    EXPECT_TRUE(std::pair(all[i].at_us, all[i].id) < std::pair(all[i - 1].at_us, all[i - 1].id))
        << i;
  }
  EXPECT_EQ(all.front().at_us, t0 + 9000);
  EXPECT_EQ(all.back().at_us, t0);
  std::set<std::string> ips;
  for (const auto& e : all) {
    ips.insert(e.ip);
    const int n = std::stoi(e.ip.substr(8));
    EXPECT_EQ(e.at_us, t0 + (n % 10) * 1000);
    EXPECT_EQ(e.code, n % 3 == 0 ? "FORBIDDEN_IP" : "VALID");
    EXPECT_EQ(e.valid(), n % 3 != 0);
  }
  EXPECT_EQ(ips.size(), 25u);  // every use once, none of key_2's

  // Uses at the same instant come newest-written first.
  const auto same_instant = store_.request_log("key_1", std::nullopt, 3);
  EXPECT_EQ(same_instant[0].at_us, same_instant[1].at_us);
  EXPECT_GT(same_instant[0].id, same_instant[1].id);
}

TEST_F(telemetry_store_test, RequestLogRowsKeepTheirCounts) {
  // Folded uses as the recorder writes them: two buckets of one second in one write, a later
  // write with the same second again (a bucket split over two flushes is two rows).
  write({uses_of("key_1", t0 + 900, 41, "192.0.2.1"),
         uses_of("key_1", t0 + 950, 3, "192.0.2.1", "FORBIDDEN_IP"),
         uses_of("key_2", t0 + 10, 7, "192.0.2.1", "VALID", false)});
  write({uses_of("key_1", t0 + 999'999, 2, "192.0.2.1")});

  const auto log = store_.request_log("key_1", std::nullopt, 10);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].at_us, t0 + 999'999);
  EXPECT_EQ(log[0].count, 2u);
  EXPECT_EQ(log[1].at_us, t0 + 950);
  EXPECT_EQ(log[1].code, "FORBIDDEN_IP");
  EXPECT_EQ(log[1].count, 3u);
  EXPECT_EQ(log[2].at_us, t0 + 900);
  EXPECT_EQ(log[2].ip, "192.0.2.1");
  EXPECT_EQ(log[2].count, 41u);
  // Pages carry the counts too.
  const auto rest = store_.request_log("key_1", std::pair{log[1].at_us, log[1].id}, 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].count, 41u);

  // Last use is the latest instant of each key, counts aside; off the record: no row at all.
  EXPECT_EQ(last_use_of("key_1")->at_us, t0 + 999'999);
  EXPECT_EQ(last_use_of("key_2")->at_us, t0 + 10);
  EXPECT_TRUE(store_.request_log("key_2", std::nullopt, 10).empty());
  EXPECT_EQ(count_rows("key_requests"), 3u);
  EXPECT_EQ(admin_query(db_.conninfo(), "SELECT sum(count) FROM key_requests")[0][0].as<int>(), 46);
}

TEST_F(telemetry_store_test, RequestLogCountsSaturateAndZeroIsNotAUse) {
  write({uses_of("key_1", t0, std::numeric_limits<std::uint32_t>::max()), uses_of("key_2", t0, 0)});
  const auto log = store_.request_log("key_1", std::nullopt, 10);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].count, static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()));
  EXPECT_FALSE(last_use_of("key_2"));  // no use at all: no row, no last use
  EXPECT_EQ(count_rows("key_requests"), 1u);
  // The table refuses a count that is not positive, and a row written without one counts one.
  EXPECT_THROW(admin_query(db_.conninfo(),
                           "INSERT INTO key_requests (key_id, workspace_id, at, ip, code, count) "
                           "VALUES ('k', 'w', now(), '', 'VALID', 0)"),
               pqxx::sql_error);
  admin_query(db_.conninfo(),
              "INSERT INTO key_requests (key_id, workspace_id, at, ip, code) "
              "VALUES ('key_3', 'w', now(), '', 'VALID')");
  const auto old_style = store_.request_log("key_3", std::nullopt, 10);
  ASSERT_EQ(old_style.size(), 1u);
  EXPECT_EQ(old_style[0].count, 1u);
}

TEST_F(telemetry_store_test, RequestLogCursorsFromAClientNeverFail) {
  write({use("key_1", t0), use("key_1", t0 + 1)});
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  EXPECT_TRUE(store_.request_log("key_1", std::pair{min, min}, 10).empty());
  EXPECT_EQ(store_.request_log("key_1", std::pair{max, max}, 10).size(), 2u);
  EXPECT_EQ(store_.request_log("key_1", std::pair{t0 + 1, min}, 10).size(), 1u);
  EXPECT_EQ(
      store_.request_log("key_1", std::nullopt, std::numeric_limits<std::size_t>::max()).size(),
      2u);
  EXPECT_TRUE(store_.request_log("key_1", std::nullopt, 0).empty());
  EXPECT_TRUE(store_.request_log(std::string_view("nul\0key", 7), std::nullopt, 10).empty());
  EXPECT_TRUE(store_.request_log("\xc0\xaf", std::nullopt, 10).empty());
}

TEST_F(telemetry_store_test, FailuresAreAddedUpPerWorkspaceIpAndCode) {
  write({}, {failure("ws_1", "203.0.113.5", "NOT_FOUND", 3, t0 + 10, t0 + 20),
             failure("ws_1", "203.0.113.5", "MALFORMED", 1, t0 + 15, t0 + 15),
             failure("ws_2", "203.0.113.5", "NOT_FOUND", 7, t0 + 1, t0 + 2),
             failure("", "203.0.113.6", "MALFORMED", 2, t0 + 1, t0 + 3)});
  // A later flush: counts add up, first_at keeps the minimum, last_at the maximum. Rows repeated
  // within one write are merged.
  write({}, {failure("ws_1", "203.0.113.5", "NOT_FOUND", 2, t0 + 5, t0 + 30),
             failure("ws_1", "203.0.113.5", "NOT_FOUND", 1, t0 + 40, t0 + 40),
             failure("ws_1", "2001:db8::7", "FORBIDDEN_IP", 4, t0 + 25, t0 + 26)});

  const auto ws1 = store_.auth_failures("ws_1", t0, 10);
  ASSERT_EQ(ws1.size(), 3u);
  // Most recent first.
  EXPECT_EQ(ws1[0].source_ip, "203.0.113.5");
  EXPECT_EQ(ws1[0].code, "NOT_FOUND");
  EXPECT_EQ(ws1[0].count, 6u);
  EXPECT_EQ(ws1[0].first_at_us, t0 + 5);
  EXPECT_EQ(ws1[0].last_at_us, t0 + 40);
  EXPECT_EQ(ws1[0].workspace_id, "ws_1");
  EXPECT_EQ(ws1[1].code, "FORBIDDEN_IP");
  EXPECT_EQ(ws1[1].source_ip, "2001:db8::7");
  EXPECT_EQ(ws1[1].count, 4u);
  EXPECT_EQ(ws1[2].code, "MALFORMED");
  EXPECT_EQ(ws1[2].count, 1u);

  // since filters on last_at; limit caps; other workspaces stay apart.
  EXPECT_EQ(store_.auth_failures("ws_1", t0 + 26, 10).size(), 2u);
  EXPECT_EQ(store_.auth_failures("ws_1", t0 + 41, 10).size(), 0u);
  EXPECT_EQ(store_.auth_failures("ws_1", t0, 1).size(), 1u);
  const auto ws2 = store_.auth_failures("ws_2", t0, 10);
  ASSERT_EQ(ws2.size(), 1u);
  EXPECT_EQ(ws2[0].count, 7u);
  const auto none = store_.auth_failures("", t0, 10);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].count, 2u);
  EXPECT_TRUE(store_.auth_failures("ws_unknown", t0, 10).empty());
  EXPECT_EQ(store_.auth_failures("ws_1", std::numeric_limits<std::int64_t>::min(), 10).size(), 3u);
}

TEST_F(telemetry_store_test, FailureCountsSaturateInsteadOfFailing) {
  constexpr std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  write({}, {failure("ws_1", "203.0.113.5", "NOT_FOUND", huge, t0, t0),
             failure("ws_1", "203.0.113.5", "NOT_FOUND", huge, t0, t0)});
  write({}, {failure("ws_1", "203.0.113.5", "NOT_FOUND", 5, t0 + 1, t0 + 1)});
  const auto rows = store_.auth_failures("ws_1", t0, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
}

TEST_F(telemetry_store_test, OneWriteIsOneTransaction) {
  // A failure row that the database refuses (a count the CHECK forbids cannot come from the
  // C++ side, so break the table instead): nothing of the batch may remain.
  admin_query(db_.conninfo(),
              "ALTER TABLE auth_failures ADD CONSTRAINT no_bad_code CHECK (code <> 'BAD')");
  EXPECT_THROW(write({use("key_1", t0)}, {failure("ws_1", "203.0.113.5", "BAD", 1, t0, t0)}),
               infra::error);
  EXPECT_FALSE(last_use_of("key_1"));
  EXPECT_EQ(count_rows("key_requests"), 0u);
  EXPECT_EQ(count_rows("auth_failures"), 0u);
  // The store is still usable.
  write({use("key_1", t0)}, {failure("ws_1", "203.0.113.5", "NOT_FOUND", 1, t0, t0)});
  EXPECT_TRUE(last_use_of("key_1"));
}

TEST_F(telemetry_store_test, InputThatCannotBeStoredIsSkippedNotFatal) {
  const std::string too_long(infra::pg_telemetry_store::max_text_bytes + 1, 'a');
  write({use("key_ok", t0), use("", t0), use("key_bad_ip", t0, "\xff"),
         use("key_nul", t0, std::string("1.2.3.4\0", 8)), use(too_long, t0),
         use("key_empty_code", t0, "192.0.2.1", ""),
         use("key_bad_time", std::numeric_limits<std::int64_t>::max())},
        {failure("ws_1", "203.0.113.5", "NOT_FOUND", 0, t0, t0),
         failure("ws_1", "\xc0\xaf", "NOT_FOUND", 1, t0, t0),
         failure("ws_1", "203.0.113.5", "NOT_FOUND", 1, t0, t0)});
  EXPECT_EQ(count_rows("key_last_use"), 1u);
  EXPECT_EQ(count_rows("key_requests"), 1u);
  const auto rows = store_.auth_failures("ws_1", t0, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 1u);
  // Nothing storable: no round trip, no error.
  write({use("", t0)}, {});
  write({}, {});
}

TEST_F(telemetry_store_test, PurgeDeletesRequestLogRowsOlderThanTheCutoff) {
  write({use("key_1", t0 - 2), use("key_1", t0 - 1), use("key_1", t0), use("key_2", t0 + 1)});
  EXPECT_EQ(store_.purge_request_log(t0), 2u);
  EXPECT_EQ(store_.purge_request_log(t0), 0u);
  const auto left = store_.request_log("key_1", std::nullopt, 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].at_us, t0);
  // Last use is not part of the log.
  EXPECT_EQ(last_use_of("key_1")->at_us, t0);
  EXPECT_EQ(store_.purge_request_log(std::numeric_limits<std::int64_t>::min()), 0u);
  EXPECT_EQ(store_.purge_request_log(std::numeric_limits<std::int64_t>::max()), 2u);
}

TEST_F(telemetry_store_test, PurgeDeletesFailureCountersLastSeenBeforeTheCutoff) {
  write({}, {failure("ws_1", "203.0.113.5", "NOT_FOUND", 3, t0 - 20, t0 - 10),
             failure("ws_1", "203.0.113.6", "NOT_FOUND", 1, t0 - 5, t0),
             failure("", "203.0.113.7", "MALFORMED", 2, t0 + 1, t0 + 3)});
  EXPECT_EQ(store_.purge_auth_failures(t0), 1u);
  EXPECT_EQ(store_.purge_auth_failures(t0), 0u);
  const auto left = store_.auth_failures("ws_1", 0, 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].source_ip, "203.0.113.6");
  EXPECT_EQ(store_.purge_auth_failures(std::numeric_limits<std::int64_t>::max()), 2u);
}

TEST_F(telemetry_store_test, WorksAsKeyledgerAppAndNeedsItsGrants) {
  // The store runs as keyledger_app (SET ROLE drops the superuser's rights): without the grant
  // it is refused, so the grants of schema/002 are what it relies on.
  write({use("key_1", t0)});
  admin_query(db_.conninfo(), "REVOKE INSERT ON key_requests FROM keyledger_app");
  try {
    write({use("key_1", t0 + 1)});
    ADD_FAILURE() << "wrote without INSERT on key_requests";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::storage);
    EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos) << e.what();
  }
  EXPECT_EQ(last_use_of("key_1")->at_us, t0);  // the whole write was refused
}

TEST_F(telemetry_store_test, KeyledgerAppMayChangeTelemetryButNotEvents) {
  const auto as_app = [&](const std::string& sql) {
    admin_query(db_.conninfo(), "SET ROLE keyledger_app; " + sql);
  };
  as_app(
      "INSERT INTO key_requests (key_id, workspace_id, at, ip, code) "
      "VALUES ('k', 'w', now(), '', 'VALID')");
  as_app("UPDATE key_requests SET code = 'REVOKED'");
  as_app("DELETE FROM key_requests");
  as_app("INSERT INTO key_last_use VALUES ('k', now(), '')");
  as_app("DELETE FROM key_last_use");
  as_app(
      "INSERT INTO auth_failures VALUES ('w', '', 'NOT_FOUND', 1, now(), now()); "
      "DELETE FROM auth_failures");
  as_app(
      "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) "
      "VALUES ('s', 'k', decode(repeat('00', 32), 'hex'), now()); DELETE FROM idempotency_keys");
  for (const std::string refused :
       {"TRUNCATE key_requests", "TRUNCATE idempotency_keys", "DROP TABLE key_last_use",
        "UPDATE events SET type = 'x'", "ALTER TABLE auth_failures ADD COLUMN x int"}) {
    EXPECT_THROW(as_app(refused), pqxx::sql_error) << refused;
  }
  const auto r =
      admin_query(db_.conninfo(),
                  "SELECT has_table_privilege('keyledger_app', 'events', 'UPDATE'), "
                  "has_table_privilege('keyledger_app', 'events', 'DELETE'), "
                  "has_table_privilege('public', 'key_requests', 'SELECT'), "
                  "has_sequence_privilege('keyledger_app', 'key_requests_id_seq', 'USAGE')");
  EXPECT_FALSE(r[0][0].as<bool>());
  EXPECT_FALSE(r[0][1].as<bool>());
  EXPECT_FALSE(r[0][2].as<bool>());
  EXPECT_TRUE(r[0][3].as<bool>());
}

TEST_F(telemetry_store_test, ReadsReconnectAfterTheConnectionBreaks) {
  write({use("key_1", t0)});
  admin_query(db_.admin_conninfo(),
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                  db_.name() + "' AND pid <> pg_backend_pid()");
  EXPECT_EQ(store_.request_log("key_1", std::nullopt, 10).size(), 1u);
  write({use("key_1", t0 + 1)});
  EXPECT_EQ(last_use_of("key_1")->at_us, t0 + 1);
}

TEST_F(telemetry_store_test, AWriteIsNotRepeatedAfterABrokenConnection) {
  write({use("key_1", t0)});
  admin_query(db_.admin_conninfo(),
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                  db_.name() + "' AND pid <> pg_backend_pid()");
  // Its outcome would be unknown: the caller keeps the batch and tries again.
  try {
    write({use("key_1", t0 + 1)});
    ADD_FAILURE() << "a write over a dead connection succeeded";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable) << e.what();
  }
  write({use("key_1", t0 + 1)});
  EXPECT_EQ(count_rows("key_requests"), 2u);
}

TEST(telemetry_store_unreachable, IsUnavailable) {
  infra::pg_telemetry_store store("host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2");
  const std::vector<key_use> uses{use("key_1", t0)};
  try {
    store.write(uses, {});
    ADD_FAILURE() << "no error";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable);
  }
  try {
    store.request_log("key_1", std::nullopt, 10);
    ADD_FAILURE() << "no error";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable);
  }
}

}  // namespace
}  // namespace keyledger::integration

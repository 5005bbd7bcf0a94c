// pg_people_store against a real PostgreSQL: password hashes are inserted and replaced, an
// invitation is consumed at most once (also under concurrency) and never after its expiry,
// sessions are found, touched forward only and ended one by one or per user and workspace, purge
// removes what expired, bad input finds nothing, and the store works with keyledger_app's
// privileges and no more.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/pg/pg_people_store.hpp"
#include "tests/integration/integration_util.hpp"
#include "tests/support/test_database.hpp"

namespace keyledger::integration {
namespace {

using infra::invitation_record;
using infra::session_record;

constexpr std::int64_t t0 = 1'790'000'000'000'000;  // 2026-09-21, microseconds
constexpr std::int64_t minute = 60'000'000;

/// 64 lowercase hex characters that differ by `n`.
std::string hash_of(int n) {
  std::string h = std::to_string(n);
  return std::string(64 - h.size(), 'a') + h;
}

const std::string phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

class people_store_test : public ::testing::Test {
 protected:
  std::size_t count_rows(const std::string& table) {
    return admin_query(db_.conninfo(), "SELECT count(*) FROM " + table)[0][0].as<std::size_t>();
  }

  void terminate_sessions() {
    admin_query(db_.admin_conninfo(),
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                    db_.name() + "' AND pid <> pg_backend_pid()");
  }

  session_record session(int n, std::string user = "usr_1", std::string workspace = "ws_1",
                         std::int64_t created = t0, std::int64_t seen = t0) {
    return session_record{hash_of(n), std::move(user), std::move(workspace), created, seen};
  }

  test_support::test_database db_;
  infra::pg_people_store store_{db_.conninfo()};
};

TEST_F(people_store_test, PasswordHashIsInsertedThenReplaced) {
  EXPECT_EQ(store_.password_hash("usr_1"), std::nullopt);
  store_.set_password_hash("usr_1", phc, t0);
  EXPECT_EQ(store_.password_hash("usr_1"), phc);
  store_.set_password_hash("usr_1", phc + "x", t0 + 1);
  EXPECT_EQ(store_.password_hash("usr_1"), phc + "x");
  EXPECT_EQ(store_.password_hash("usr_2"), std::nullopt);
  EXPECT_EQ(count_rows("user_credentials"), 1u);
  const auto r = admin_query(db_.conninfo(),
                             "SELECT updated_at = to_timestamp(1790000000.000001) "
                             "FROM user_credentials");
  EXPECT_TRUE(r[0][0].as<bool>());
}

TEST_F(people_store_test, AnInvitationIsConsumedOnce) {
  store_.add_invitation({hash_of(1), "usr_1", "ws_1", t0 + minute});
  const auto got = store_.consume_invitation(hash_of(1), t0);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->token_hash, hash_of(1));
  EXPECT_EQ(got->user_id, "usr_1");
  EXPECT_EQ(got->workspace_id, "ws_1");
  EXPECT_EQ(got->expires_at_us, t0 + minute);
  EXPECT_EQ(store_.consume_invitation(hash_of(1), t0), std::nullopt);
  EXPECT_EQ(store_.consume_invitation(hash_of(2), t0), std::nullopt);
  EXPECT_EQ(count_rows("invitations"), 0u);
}

TEST_F(people_store_test, AnExpiredInvitationIsRefusedAndDeleted) {
  store_.add_invitation({hash_of(1), "usr_1", "ws_1", t0});
  // The instant of expiry is already too late.
  EXPECT_EQ(store_.consume_invitation(hash_of(1), t0), std::nullopt);
  EXPECT_EQ(count_rows("invitations"), 0u);
  store_.add_invitation({hash_of(2), "usr_1", "ws_1", t0});
  EXPECT_TRUE(store_.consume_invitation(hash_of(2), t0 - 1));
}

TEST_F(people_store_test, ConcurrentConsumersOfOneTokenHaveExactlyOneWinner) {
  constexpr int threads = 8;
  constexpr int rounds = 10;
  std::vector<std::unique_ptr<infra::pg_people_store>> stores;
  for (int t = 0; t < threads; ++t) {
    stores.push_back(std::make_unique<infra::pg_people_store>(db_.conninfo()));
    // Open every connection before the race, so the threads meet at the row, not at connect.
    EXPECT_EQ(stores.back()->password_hash("usr_warm"), std::nullopt);
  }
  for (int round = 0; round < rounds; ++round) {
    store_.add_invitation({hash_of(round), "usr_" + std::to_string(round), "ws_1", t0 + minute});
    std::atomic<int> winners{0}, losers{0}, errors{0};
    std::latch start(threads);
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        start.arrive_and_wait();
        try {
          const auto got = stores[t]->consume_invitation(hash_of(round), t0);
          if (got && got->user_id == "usr_" + std::to_string(round)) {
            ++winners;
          } else if (!got) {
            ++losers;
          } else {
            ++errors;
          }
        } catch (...) {
          ++errors;
        }
      });
    }
    for (auto& t : running) t.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(losers.load(), threads - 1) << "round " << round;
    EXPECT_EQ(errors.load(), 0) << "round " << round;
  }
  EXPECT_EQ(count_rows("invitations"), 0u);
}

TEST_F(people_store_test, DeleteInvitationsTouchesOneUserInOneWorkspace) {
  store_.add_invitation({hash_of(1), "usr_1", "ws_1", t0 + minute});
  store_.add_invitation({hash_of(2), "usr_1", "ws_1", t0 + minute});
  store_.add_invitation({hash_of(3), "usr_1", "ws_2", t0 + minute});
  store_.add_invitation({hash_of(4), "usr_2", "ws_1", t0 + minute});
  EXPECT_EQ(store_.delete_invitations("usr_1", "ws_1"), 2u);
  EXPECT_EQ(store_.delete_invitations("usr_1", "ws_1"), 0u);
  EXPECT_EQ(store_.consume_invitation(hash_of(1), t0), std::nullopt);
  EXPECT_TRUE(store_.consume_invitation(hash_of(3), t0));
  EXPECT_TRUE(store_.consume_invitation(hash_of(4), t0));
}

TEST_F(people_store_test, SessionsAreFoundTouchedForwardAndDeleted) {
  store_.add_session(session(1, "usr_1", "ws_1", t0, t0 + 5));
  auto found = store_.find_session(hash_of(1));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id_hash, hash_of(1));
  EXPECT_EQ(found->user_id, "usr_1");
  EXPECT_EQ(found->workspace_id, "ws_1");
  EXPECT_EQ(found->created_at_us, t0);
  EXPECT_EQ(found->last_seen_at_us, t0 + 5);

  store_.touch_session(hash_of(1), t0 + minute);
  EXPECT_EQ(store_.find_session(hash_of(1))->last_seen_at_us, t0 + minute);
  store_.touch_session(hash_of(1), t0 + 1);  // a late request never moves it back
  EXPECT_EQ(store_.find_session(hash_of(1))->last_seen_at_us, t0 + minute);
  store_.touch_session(hash_of(9), t0);  // no such session: nothing happens
  EXPECT_EQ(store_.find_session(hash_of(9)), std::nullopt);

  store_.delete_session(hash_of(1));
  EXPECT_EQ(store_.find_session(hash_of(1)), std::nullopt);
  store_.delete_session(hash_of(1));  // twice is fine
}

TEST_F(people_store_test, DeleteSessionsEndsOneUsersSessionsInOneWorkspace) {
  store_.add_session(session(1, "usr_1", "ws_1"));
  store_.add_session(session(2, "usr_1", "ws_1"));
  store_.add_session(session(3, "usr_1", "ws_2"));
  store_.add_session(session(4, "usr_2", "ws_1"));
  EXPECT_EQ(store_.delete_sessions("usr_1", "ws_1"), 2u);
  EXPECT_EQ(store_.delete_sessions("usr_1", "ws_1"), 0u);
  EXPECT_EQ(store_.find_session(hash_of(1)), std::nullopt);
  EXPECT_EQ(store_.find_session(hash_of(2)), std::nullopt);
  EXPECT_TRUE(store_.find_session(hash_of(3)));
  EXPECT_TRUE(store_.find_session(hash_of(4)));
}

TEST_F(people_store_test, PurgeRemovesIdleAndOldSessionsAndExpiredInvitations) {
  store_.add_session(session(1, "usr_1", "ws_1", t0, t0));              // idle
  store_.add_session(session(2, "usr_1", "ws_1", t0 - 100, t0 + 100));  // too old
  store_.add_session(session(3, "usr_1", "ws_1", t0 + 10, t0 + 100));   // fine
  store_.add_session(session(4, "usr_1", "ws_1", t0, t0 + 50));         // exactly at the cutoffs
  store_.add_invitation({hash_of(5), "usr_1", "ws_1", t0 + 200});       // expires at now
  store_.add_invitation({hash_of(6), "usr_1", "ws_1", t0 + 201});       // still good
  EXPECT_EQ(store_.purge(t0 + 50, t0, t0 + 200), 3u);
  EXPECT_EQ(store_.find_session(hash_of(1)), std::nullopt);
  EXPECT_EQ(store_.find_session(hash_of(2)), std::nullopt);
  EXPECT_TRUE(store_.find_session(hash_of(3)));
  EXPECT_TRUE(store_.find_session(hash_of(4)));
  EXPECT_EQ(count_rows("invitations"), 1u);
  EXPECT_EQ(store_.purge(t0 + 50, t0, t0 + 200), 0u);
  // Cutoffs from anywhere never make the statement fail.
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(store_.purge(lo, lo, lo), 0u);
  EXPECT_EQ(store_.purge(hi, hi, hi), 3u);
  EXPECT_EQ(count_rows("sessions") + count_rows("invitations"), 0u);
}

TEST_F(people_store_test, InputThatCannotNameARowFindsNothing) {
  store_.add_session(session(1));
  store_.add_invitation({hash_of(2), "usr_1", "ws_1", t0 + minute});
  const std::string upper = "A" + hash_of(1).substr(1);
  for (const std::string& bad : {std::string(), std::string("abc"), upper, hash_of(1) + "0",
                                 std::string(64, 'g'), std::string("\xff")}) {
    EXPECT_EQ(store_.find_session(bad), std::nullopt);
    EXPECT_EQ(store_.consume_invitation(bad, t0), std::nullopt);
    store_.touch_session(bad, t0 + minute);
    store_.delete_session(bad);
  }
  EXPECT_EQ(store_.password_hash(""), std::nullopt);
  EXPECT_EQ(store_.password_hash("usr_\xff"), std::nullopt);
  EXPECT_EQ(store_.delete_sessions("", "ws_1"), 0u);
  EXPECT_EQ(store_.delete_invitations("usr_1", std::string("ws\0", 3)), 0u);
  EXPECT_EQ(count_rows("sessions"), 1u);
  EXPECT_EQ(count_rows("invitations"), 1u);
}

TEST_F(people_store_test, WritingBadInputIsABadRequest) {
  const auto expect_bad_request = [](auto&& fn, const char* what) {
    try {
      fn();
      ADD_FAILURE() << what << ": no error";
    } catch (const infra::error& e) {
      EXPECT_EQ(e.code(), infra::errc::bad_request) << what;
    }
  };
  expect_bad_request([&] { store_.set_password_hash("", phc, t0); }, "empty user");
  expect_bad_request([&] { store_.set_password_hash("usr_1", "", t0); }, "empty hash");
  expect_bad_request(
      [&] { store_.set_password_hash("usr_1", phc, std::numeric_limits<std::int64_t>::max()); },
      "now out of range");
  expect_bad_request([&] { store_.add_invitation({"short", "usr_1", "ws_1", t0}); }, "hash");
  expect_bad_request([&] { store_.add_invitation({hash_of(1), "", "ws_1", t0}); }, "user");
  expect_bad_request(
      [&] {
        store_.add_invitation({hash_of(1), "usr_1", "ws\xff", t0});
      },
      "workspace");
  expect_bad_request([&] { store_.add_session(session(1, "usr_1", "ws_1", t0, t0 - 1)); },
                     "seen before created");
  expect_bad_request(
      [&] {
        store_.add_session({hash_of(1).substr(1), "u", "w", t0, t0});
      },
      "session hash");
  EXPECT_EQ(count_rows("sessions") + count_rows("invitations") + count_rows("user_credentials"),
            0u);
}

TEST_F(people_store_test, KeyledgerAppMayChangeThePeopleTablesAndNoMore) {
  const auto as_app = [&](const std::string& sql) {
    admin_query(db_.conninfo(), "SET ROLE keyledger_app; " + sql);
  };
  as_app(
      "INSERT INTO user_credentials VALUES ('u', 'h', now()); UPDATE user_credentials SET "
      "password_hash = 'i'; DELETE FROM user_credentials");
  as_app(
      "INSERT INTO invitations VALUES (repeat('a', 64), 'u', 'w', now()); UPDATE invitations "
      "SET user_id = 'v'; DELETE FROM invitations");
  as_app(
      "INSERT INTO sessions VALUES (repeat('a', 64), 'u', 'w', now(), now()); UPDATE sessions "
      "SET last_seen_at = now(); DELETE FROM sessions");
  for (const std::string refused :
       {"TRUNCATE sessions", "TRUNCATE user_credentials", "DROP TABLE invitations",
        "ALTER TABLE sessions ADD COLUMN x int"}) {
    EXPECT_THROW(as_app(refused), pqxx::sql_error) << refused;
  }
  // The stored forms are checked by the table too: no clear-text token fits.
  EXPECT_THROW(as_app("INSERT INTO sessions VALUES ('not-a-hash', 'u', 'w', now(), now())"),
               pqxx::sql_error);
  const auto r = admin_query(db_.conninfo(),
                             "SELECT has_table_privilege('public', 'user_credentials', 'SELECT'), "
                             "has_table_privilege('public', 'sessions', 'SELECT'), "
                             "has_table_privilege('public', 'invitations', 'SELECT')");
  EXPECT_FALSE(r[0][0].as<bool>());
  EXPECT_FALSE(r[0][1].as<bool>());
  EXPECT_FALSE(r[0][2].as<bool>());
}

TEST_F(people_store_test, WorksAsKeyledgerAppAndNeedsItsGrants) {
  // The store runs as keyledger_app (SET ROLE drops the superuser's rights): without the grant
  // it is refused, so the grants of schema/003 are what it relies on.
  store_.add_invitation({hash_of(1), "usr_1", "ws_1", t0 + minute});
  admin_query(db_.conninfo(), "REVOKE DELETE ON invitations FROM keyledger_app");
  try {
    store_.consume_invitation(hash_of(1), t0);
    ADD_FAILURE() << "consumed without DELETE on invitations";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::storage);
    EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos) << e.what();
    // The message names neither the table's rows nor the hash.
    EXPECT_EQ(std::string(e.what()).find(hash_of(1)), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_rows("invitations"), 1u);
}

TEST_F(people_store_test, ReadsReconnectButAConsumeIsNotRepeated) {
  store_.set_password_hash("usr_1", phc, t0);
  store_.add_invitation({hash_of(1), "usr_1", "ws_1", t0 + minute});
  terminate_sessions();
  EXPECT_EQ(store_.password_hash("usr_1"), phc);  // retried on a new connection
  terminate_sessions();
  try {
    store_.consume_invitation(hash_of(1), t0);
    ADD_FAILURE() << "a consume over a dead connection succeeded";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable) << e.what();
  }
  EXPECT_TRUE(store_.consume_invitation(hash_of(1), t0));
}

TEST(people_store_unreachable, IsUnavailable) {
  infra::pg_people_store store("host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2");
  try {
    store.find_session(hash_of(1));
    ADD_FAILURE() << "no error";
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::unavailable);
  }
}

}  // namespace
}  // namespace keyledger::integration

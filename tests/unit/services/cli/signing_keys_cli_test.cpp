// `keyledger signing-keys list|rotate` over the in-memory log and key store: what each prints,
// its exit status, when it reads the server secret, and that no private key is ever printed.
#include "services/cli/signing_keys_cli.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <CLI/CLI.hpp>
#include <sstream>

#include "domain/encoding.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/oauth/signing_key_ring.hpp"
#include "services/cli/keys_cli.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_signing_key_store.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class signing_keys_cli_test : public ::testing::Test {
 protected:
  outcome run(std::vector<std::string> args, std::string secret = std::string(32, 's')) {
    CLI::App app;
    signing_keys_command command(app);
    std::vector<std::string> argv = {"keyledger"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<const char*> c_argv;
    for (const auto& a : argv) c_argv.push_back(a.c_str());
    outcome o;
    try {
      app.parse(static_cast<int>(c_argv.size()), c_argv.data());
    } catch (const CLI::ParseError&) {
      o.status = cli_exit_usage;
      return o;
    }
    EXPECT_TRUE(command.chosen());
    std::ostringstream out;
    std::ostringstream err;
    o.status = command.run({events_, secrets_,
                            [&, secret] {
                              ++secret_reads_;
                              return infra::secret(secret);
                            },
                            random_, clock_},
                           out, err);
    o.out = out.str();
    o.err = err.str();
    // Whatever was printed, no private key is in it.
    for (const auto& [kid, sealed] : secrets_.rows()) {
      const auto opened = sealer_.open(sealed, kid);
      if (!opened) continue;
      EXPECT_EQ(o.out.find(domain::base64url_encode(*opened)), std::string::npos);
      EXPECT_EQ(o.out.find(*opened), std::string::npos);
      EXPECT_EQ(o.out.find(domain::base64url_encode(sealed)), std::string::npos);
    }
    return o;
  }

  rapidjson::Document json_of(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
  }

  infra::openssl_random_source random_;
  test_support::manual_clock clock_{domain::timestamp(std::chrono::seconds(1'800'000'000))};
  test_support::memory_event_store events_;
  test_support::memory_signing_key_store secrets_;
  infra::response_sealer sealer_{infra::derive_key(std::string(32, 's'), signing_key_sealing_info)};
  int secret_reads_ = 0;
};

TEST_F(signing_keys_cli_test, list_of_an_empty_log_says_so_and_reads_no_secret) {
  const auto o = run({"signing-keys", "list"});
  EXPECT_EQ(o.status, cli_exit_ok);
  EXPECT_NE(o.out.find("No signing keys yet"), std::string::npos) << o.out;
  const auto j = run({"signing-keys", "list", "--json"});
  EXPECT_EQ(j.out, "{\"keys\":[]}\n");
  EXPECT_EQ(secret_reads_, 0);
}

TEST_F(signing_keys_cli_test, the_first_rotation_activates_at_once_then_rotations_wait_an_overlap) {
  const auto first = run({"signing-keys", "rotate"});
  EXPECT_EQ(first.status, cli_exit_ok) << first.err;
  EXPECT_NE(first.out.find("signs from now (no key was active)"), std::string::npos) << first.out;
  EXPECT_EQ(secret_reads_, 1);

  clock_.advance(1h);
  const auto second = run({"signing-keys", "rotate", "--json"});
  EXPECT_EQ(second.status, cli_exit_ok) << second.err;
  const auto made = json_of(second.out);
  EXPECT_EQ(std::string(made["status"].GetString()), "pending");
  EXPECT_EQ(std::string(made["activate_after"].GetString()),
            domain::format_timestamp(clock_.now() + 24h));
  EXPECT_FALSE(made["immediately"].GetBool());

  const auto list = run({"signing-keys", "list", "--json"});
  const auto keys = json_of(list.out);
  ASSERT_EQ(keys["keys"].Size(), 2u);
  EXPECT_EQ(std::string(keys["keys"][0]["status"].GetString()), "active");
  EXPECT_EQ(std::string(keys["keys"][1]["status"].GetString()), "pending");
  EXPECT_EQ(std::string(keys["keys"][1]["kid"].GetString()), made["kid"].GetString());
  EXPECT_TRUE(keys["keys"][1]["published"].GetBool());
  EXPECT_TRUE(keys["keys"][1]["activated_at"].IsNull());

  const auto table = run({"signing-keys", "list"});
  EXPECT_NE(table.out.find("KID"), std::string::npos);
  EXPECT_NE(table.out.find("PUBLISHED UNTIL"), std::string::npos);
  EXPECT_NE(table.out.find(made["kid"].GetString()), std::string::npos);

  // Another rotation while one waits: refused, nothing appended.
  const auto head = events_.head_seq();
  const auto refused = run({"signing-keys", "rotate"});
  EXPECT_EQ(refused.status, cli_exit_error);
  EXPECT_NE(refused.err.find("PENDING_KEY_EXISTS"), std::string::npos) << refused.err;
  EXPECT_EQ(events_.head_seq(), head);
}

TEST_F(signing_keys_cli_test, an_immediate_rotation_unpublishes_every_earlier_key) {
  run({"signing-keys", "rotate"});
  const auto o = run({"signing-keys", "rotate", "--immediately"});
  EXPECT_EQ(o.status, cli_exit_ok) << o.err;
  EXPECT_NE(o.out.find("Every earlier key is unpublished"), std::string::npos) << o.out;
  const auto keys = json_of(run({"signing-keys", "list", "--json"}).out);
  ASSERT_EQ(keys["keys"].Size(), 2u);
  EXPECT_EQ(std::string(keys["keys"][0]["status"].GetString()), "retired");
  EXPECT_FALSE(keys["keys"][0]["published"].GetBool());
  EXPECT_EQ(std::string(keys["keys"][1]["status"].GetString()), "active");
  EXPECT_NE(run({"signing-keys", "list"}).out.find("(unpublished)"), std::string::npos);
}

TEST_F(signing_keys_cli_test, a_rotation_with_another_server_secret_is_refused) {
  run({"signing-keys", "rotate"});
  const auto o = run({"signing-keys", "rotate"}, std::string(32, 'x'));
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find("WRONG_SERVER_SECRET"), std::string::npos) << o.err;
  EXPECT_EQ(secrets_.rows().size(), 1u);
}

TEST_F(signing_keys_cli_test, a_subcommand_is_required) {
  EXPECT_EQ(run({"signing-keys"}).status, cli_exit_usage);
  EXPECT_EQ(run({"signing-keys", "retire"}).status, cli_exit_usage);
  EXPECT_EQ(run({"signing-keys", "rotate", "--now"}).status, cli_exit_usage);
}

}  // namespace
}  // namespace keyledger::services

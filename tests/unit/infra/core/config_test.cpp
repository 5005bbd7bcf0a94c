#include "infra/core/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "infra/core/error.hpp"

namespace keyledger::infra {
namespace {

using namespace std::string_literals;

const char* const all_variables[] = {
    "DATABASE_URL",         "KEYLEDGER_LISTEN",     "KEYLEDGER_DATA_DIR", "KEYLEDGER_SECRET_FILE",
    "KEYLEDGER_IO_THREADS", "KEYLEDGER_DB_THREADS", "KEYLEDGER_DB_QUEUE", "KEYLEDGER_ISSUER",
    "KEYLEDGER_OAUTH_AUDIENCE",
    "KEYLEDGER_APPEND_BATCH",
    "KEYLEDGER_POSTBACK_ALLOW_PRIVATE",
    "KEYLEDGER_POSTBACK_THREADS",
    "KEYLEDGER_POSTBACK_TIMEOUT_MS",
    "KEYLEDGER_POSTBACK_POLL_MS",
    "KEYLEDGER_POSTBACK_FAILURE_WINDOW_SECONDS",
    "KEYLEDGER_POSTBACK_CA_FILE",
    "KEYLEDGER_TRUSTED_PROXIES",
};

/// Every test starts and ends with none of the variables set.
class config_env : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* name : all_variables) ::unsetenv(name);
  }
  static void set(const char* name, const std::string& value) {
    ASSERT_EQ(::setenv(name, value.c_str(), 1), 0);
  }
  /// The message of the config error load_config_from_env throws, or "" if it did not.
  static std::string config_error() {
    try {
      load_config_from_env();
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::config);
      return e.what();
    }
    ADD_FAILURE() << "load_config_from_env accepted the environment";
    return "";
  }
};

TEST_F(config_env, given_nothing_set_then_the_documented_defaults) {
  const config c = load_config_from_env();
  EXPECT_EQ(c.database_url, "");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.data_dir, ".local/");
  EXPECT_EQ(c.secret_file, "");
  EXPECT_EQ(c.io_threads, 2u);
  EXPECT_EQ(c.db_threads, 4u);
  EXPECT_EQ(c.db_queue, 256u);
  EXPECT_EQ(c.append_batch, 64u);
}

TEST_F(config_env, given_every_variable_set_then_each_is_used) {
  set("DATABASE_URL", "postgresql://app@db:5432/keyledger");
  set("KEYLEDGER_LISTEN", "[::1]:0");
  set("KEYLEDGER_DATA_DIR", "/var/lib/keyledger/");
  set("KEYLEDGER_SECRET_FILE", "/run/secrets/keyledger");
  set("KEYLEDGER_IO_THREADS", "8");
  set("KEYLEDGER_DB_THREADS", "16");
  set("KEYLEDGER_DB_QUEUE", "1024");
  set("KEYLEDGER_APPEND_BATCH", "1");
  const config c = load_config_from_env();
  EXPECT_EQ(c.database_url, "postgresql://app@db:5432/keyledger");
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.data_dir, "/var/lib/keyledger/");
  EXPECT_EQ(c.secret_file, "/run/secrets/keyledger");
  EXPECT_EQ(c.io_threads, 8u);
  EXPECT_EQ(c.db_threads, 16u);
  EXPECT_EQ(c.db_queue, 1024u);
  EXPECT_EQ(c.append_batch, 1u);
}

TEST_F(config_env, given_variables_set_to_empty_then_defaults) {
  for (const char* name : all_variables) set(name, "");
  const config c = load_config_from_env();
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.io_threads, 2u);
  EXPECT_EQ(c.data_dir, ".local/");
}

TEST_F(config_env, given_numbers_at_their_bounds_then_accepted) {
  set("KEYLEDGER_IO_THREADS", "1");
  set("KEYLEDGER_DB_THREADS", "256");
  set("KEYLEDGER_DB_QUEUE", "100000");
  config c = load_config_from_env();
  EXPECT_EQ(c.io_threads, 1u);
  EXPECT_EQ(c.db_threads, 256u);
  EXPECT_EQ(c.db_queue, 100000u);
  set("KEYLEDGER_IO_THREADS", "64");
  set("KEYLEDGER_DB_THREADS", "1");
  set("KEYLEDGER_DB_QUEUE", "0001");
  c = load_config_from_env();
  EXPECT_EQ(c.io_threads, 64u);
  EXPECT_EQ(c.db_threads, 1u);
  EXPECT_EQ(c.db_queue, 1u);
}

TEST_F(config_env, given_a_bad_number_then_a_config_error_naming_the_variable) {
  struct bad_case {
    const char* name;
    std::string value;
  };
  const std::vector<bad_case> cases = {
      {"KEYLEDGER_IO_THREADS", "0"},
      {"KEYLEDGER_IO_THREADS", "65"},
      {"KEYLEDGER_DB_THREADS", "0"},
      {"KEYLEDGER_DB_THREADS", "257"},
      {"KEYLEDGER_APPEND_BATCH", "0"},
      {"KEYLEDGER_APPEND_BATCH", "1025"},
      {"KEYLEDGER_DB_QUEUE", "0"},
      {"KEYLEDGER_DB_QUEUE", "100001"},
      {"KEYLEDGER_DB_QUEUE", "abc"},
      {"KEYLEDGER_DB_QUEUE", "-1"},
      {"KEYLEDGER_DB_QUEUE", "+1"},
      {"KEYLEDGER_DB_QUEUE", " 1"},
      {"KEYLEDGER_DB_QUEUE", "1 "},
      {"KEYLEDGER_DB_QUEUE", "1.5"},
      {"KEYLEDGER_DB_QUEUE", "1e3"},
      {"KEYLEDGER_DB_QUEUE", "0x10"},
      {"KEYLEDGER_DB_QUEUE", "12k"},
      {"KEYLEDGER_DB_QUEUE", "\xd9\xa1"},              // Arabic-Indic digit one
      {"KEYLEDGER_DB_QUEUE", "18446744073709551617"},  // 2^64 + 1 wraps to 1
      {"KEYLEDGER_DB_QUEUE", std::string(40, '9')},
  };
  for (const auto& [name, value] : cases) {
    clear();
    set(name, value);
    const std::string message = config_error();
    EXPECT_EQ(message.rfind(std::string(name) + ": ", 0), 0u)
        << name << "=" << value << " -> " << message;
  }
}

TEST_F(config_env, given_a_bad_listen_address_then_a_config_error_naming_the_variable) {
  set("KEYLEDGER_LISTEN", "localhost");
  EXPECT_EQ(config_error().rfind("KEYLEDGER_LISTEN: ", 0), 0u);
  set("KEYLEDGER_LISTEN", "127.0.0.1:99999");
  EXPECT_EQ(config_error().rfind("KEYLEDGER_LISTEN: ", 0), 0u);
}

TEST_F(config_env, given_a_database_url_with_a_password_then_errors_never_echo_it) {
  set("DATABASE_URL", "postgresql://app:hunter2secret@db/keyledger");
  set("KEYLEDGER_DB_THREADS", "many");
  const std::string message = config_error();
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find("hunter2secret"), std::string::npos) << message;
}

// ---- parse_listen ------------------------------------------------------------------------------

struct listen_case {
  std::string text;
  std::string host;
  std::uint16_t port;
};

TEST(parse_listen, given_host_port_or_bracketed_v6_then_split) {
  const std::vector<listen_case> good = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"0.0.0.0:0", "0.0.0.0", 0},
      {"localhost:65535", "localhost", 65535},
      {"example.com:80", "example.com", 80},
      {"my-host.internal:1", "my-host.internal", 1},
      {"KeyLedger-1:443", "KeyLedger-1", 443},
      {"[::1]:8080", "::1", 8080},
      {"[::]:0", "::", 0},
      {"[2001:db8::1]:443", "2001:db8::1", 443},
      {"[::ffff:192.0.2.1]:9", "::ffff:192.0.2.1", 9},
      {"127.0.0.1:00080", "127.0.0.1", 80},
  };
  for (const auto& c : good) {
    std::string host;
    std::uint16_t port = 1234;
    ASSERT_NO_THROW(parse_listen(c.text, host, port)) << c.text;
    EXPECT_EQ(host, c.host) << c.text;
    EXPECT_EQ(port, c.port) << c.text;
  }
}

TEST(parse_listen, given_garbage_then_config_error_and_outputs_untouched) {
  const std::vector<std::string> bad = {
      "",
      ":8080",
      "127.0.0.1",
      "127.0.0.1:",
      "127.0.0.1:65536",
      "127.0.0.1:99999999999999999999",
      "127.0.0.1:000080",
      "127.0.0.1:-1",
      "127.0.0.1:+80",
      "127.0.0.1:80a",
      "127.0.0.1: 80",
      "127.0.0.1:80 ",
      " 127.0.0.1:80",
      "127.0.0.1 :80",
      "::1:8080",
      "::1",
      "[::1]8080",
      "[::1]:",
      "[::1]:x",
      "[::1",
      "[]:80",
      "[not-v6]:80",
      "[127.0.0.1]:80",
      "[fe80::1%eth0]:80",
      "256.0.0.1:80",
      "1.2.3:80",
      "1.2.3.4.5:80",
      "8080:80",
      "-host:80",
      "host-:80",
      "ho_st:80",
      "host..com:80",
      "host.:80",
      ".host:80",
      "http://host:80",
      "user@host:80",
      "h\xc3\xb6st:80",
      "127.0.0.1\0:80"s,
      std::string(64, 'a') + ".com:80",
      std::string(400, 'a') + ":80",
  };
  for (const auto& text : bad) {
    std::string host = "unchanged";
    std::uint16_t port = 4321;
    try {
      parse_listen(text, host, port);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::config) << text;
      EXPECT_STRNE(e.what(), "") << text;
    }
    EXPECT_EQ(host, "unchanged") << text;
    EXPECT_EQ(port, 4321) << text;
  }
}

TEST(valid_issuer, https_or_http_to_loopback_without_query_fragment_or_trailing_slash) {
  for (const char* good : {"https://auth.example", "https://auth.example:8443/tenant",
                           "http://127.0.0.1:8080", "http://[::1]:9000", "http://localhost:8080"}) {
    EXPECT_TRUE(valid_issuer(good)) << good;
  }
  for (const char* bad : {"", "auth.example", "https://", "https://auth.example/",
                          "https://auth.example?x=1", "https://auth.example#f",
                          "https://u@auth.example", "http://auth.example",
                          "http://127.0.0.1.evil.example", "ftp://auth.example",
                          "https://auth example"}) {
    EXPECT_FALSE(valid_issuer(bad)) << bad;
  }
}

TEST_F(config_env, the_issuer_and_audience_are_checked) {
  set("KEYLEDGER_ISSUER", "https://auth.example");
  set("KEYLEDGER_OAUTH_AUDIENCE", "urn:acme:api");
  const auto c = load_config_from_env();
  EXPECT_EQ(c.issuer, "https://auth.example");
  EXPECT_EQ(c.oauth_audience, "urn:acme:api");
  set("KEYLEDGER_ISSUER", "http://auth.example");
  EXPECT_NE(config_error().find("KEYLEDGER_ISSUER"), std::string::npos);
  set("KEYLEDGER_ISSUER", "https://auth.example");
  set("KEYLEDGER_OAUTH_AUDIENCE", "no scheme");
  EXPECT_NE(config_error().find("KEYLEDGER_OAUTH_AUDIENCE"), std::string::npos);
}

}  // namespace
}  // namespace keyledger::infra

namespace keyledger::infra {
namespace {

const std::string pem_line =
    "-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\\n-----END PUBLIC KEY-----";

TEST(leak_reporter_keys, entries_name_a_pem_file_or_an_inline_pem) {
  const auto keys =
      parse_leak_reporter_keys(" github-1=/etc/keyledger/gh1.pem , ab:c.d_e-f=" + pem_line + "\n");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key_id, "github-1");
  EXPECT_EQ(keys[0].pem_file, "/etc/keyledger/gh1.pem");
  EXPECT_EQ(keys[0].pem, "");
  EXPECT_EQ(keys[1].key_id, "ab:c.d_e-f");
  EXPECT_EQ(keys[1].pem_file, "");
  // A literal \n is a line break, so that a PEM fits in one variable.
  EXPECT_EQ(keys[1].pem,
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
            "-----END PUBLIC KEY-----");
  const std::string github_id(64, 'f');
  EXPECT_EQ(parse_leak_reporter_keys(github_id + "=k.pem").front().key_id, github_id);
}

TEST(leak_reporter_keys, bad_entries_are_refused_without_echoing_a_value) {
  const std::pair<std::string, std::string> bad[] = {
      {"", "entry 1"},
      {"a=k.pem,", "entry 2"},
      {"nokey", "entry 1"},
      {"=k.pem", "entry 1"},
      {"a b=k.pem", "entry 1"},
      {std::string(129, 'a') + "=k.pem", "entry 1"},
      {"a=", "key id a has no key"},
      {"a=x.pem,a=y.pem", "key id a is given twice"},
  };
  for (const auto& [text, says] : bad) {
    try {
      parse_leak_reporter_keys(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::config);
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(".pem"), std::string::npos) << e.what();
    }
  }
}

TEST_F(config_env, postback_settings_have_defaults_and_bounds) {
  auto c = load_config_from_env();
  EXPECT_TRUE(c.postback_allow_private.empty());
  EXPECT_EQ(c.postback_threads, 2u);
  EXPECT_EQ(c.postback_timeout_ms, 10'000u);
  EXPECT_EQ(c.postback_poll_ms, 1'000u);
  EXPECT_EQ(c.postback_failure_window_seconds, 432'000u);
  EXPECT_EQ(c.postback_ca_file, "");

  set("KEYLEDGER_POSTBACK_ALLOW_PRIVATE", " 127.0.0.0/8 ,, 10.0.0.0/8");
  set("KEYLEDGER_POSTBACK_TIMEOUT_MS", "1000");
  set("KEYLEDGER_POSTBACK_CA_FILE", "/etc/ca.pem");
  set("KEYLEDGER_TRUSTED_PROXIES", "10.1.0.0/16, 10.2.0.0/16");
  c = load_config_from_env();
  EXPECT_EQ(c.postback_allow_private, (std::vector<std::string>{"127.0.0.0/8", "10.0.0.0/8"}));
  EXPECT_EQ(c.postback_timeout_ms, 1000u);
  EXPECT_EQ(c.postback_ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.trusted_proxies, (std::vector<std::string>{"10.1.0.0/16", "10.2.0.0/16"}));

  // The 10 s is the ceiling of an attempt.
  set("KEYLEDGER_POSTBACK_TIMEOUT_MS", "10001");
  EXPECT_NE(config_error().find("KEYLEDGER_POSTBACK_TIMEOUT_MS"), std::string::npos);
  set("KEYLEDGER_POSTBACK_TIMEOUT_MS", "1000");
  set("KEYLEDGER_POSTBACK_THREADS", "0");
  EXPECT_NE(config_error().find("KEYLEDGER_POSTBACK_THREADS"), std::string::npos);
}

}  // namespace
}  // namespace keyledger::infra

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {
namespace {

namespace fs = std::filesystem;

// A fresh private directory per test, removed afterwards.
class server_secret : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "keyledger-secret-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static void write_file(const fs::path& p, const std::string& content, mode_t mode) {
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << content;
    }
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }

  static mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  // Loads and expects errc::config; returns the message.
  static std::string load_error(const config& cfg) {
    try {
      (void)load_or_create_server_secret(cfg);
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::config);
      return e.what();
    }
    ADD_FAILURE() << "expected infra::error";
    return {};
  }

  fs::path root_;
};

TEST_F(server_secret, created_with_mode_0600_and_reused) {
  config cfg;
  cfg.data_dir = (root_ / "data").string() + "/";
  const secret first = load_or_create_server_secret(cfg);

  const fs::path file = root_ / "data" / "server.secret";
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(mode_of(root_ / "data"), 0700u);
  EXPECT_EQ(fs::file_size(file), 64u);
  ASSERT_EQ(first.size(), 64u);
  EXPECT_EQ(first.reveal().find_first_not_of("0123456789abcdef"), std::string_view::npos);

  const secret second = load_or_create_server_secret(cfg);
  EXPECT_TRUE(second.equals(first.reveal()));
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ / "data"), fs::directory_iterator{}), 1);
}

TEST_F(server_secret, two_data_dirs_get_different_secrets) {
  config a;
  a.data_dir = (root_ / "a").string();
  config b;
  b.data_dir = (root_ / "b").string();
  EXPECT_FALSE(load_or_create_server_secret(a).equals(load_or_create_server_secret(b).reveal()));
}

TEST_F(server_secret, creates_nested_data_dirs) {
  config cfg;
  cfg.data_dir = (root_ / "x" / "y" / "z").string();
  EXPECT_EQ(load_or_create_server_secret(cfg).size(), 64u);
  EXPECT_EQ(mode_of(root_ / "x"), 0700u);
  EXPECT_EQ(mode_of(root_ / "x" / "y" / "z"), 0700u);
}

TEST_F(server_secret, existing_default_file_is_checked_too) {
  const fs::path file = root_ / "server.secret";
  write_file(file, std::string(64, 's'), 0644);
  config cfg;
  cfg.data_dir = root_.string();
  const std::string msg = load_error(cfg);
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("group or others"), std::string::npos) << msg;
  // The file was not replaced.
  std::ifstream in(file);
  std::string content;
  in >> content;
  EXPECT_EQ(content, std::string(64, 's'));
}

TEST_F(server_secret, explicit_file_is_used_and_one_newline_trimmed) {
  const fs::path file = root_ / "explicit.secret";
  const std::string value = "0123456789abcdef0123456789abcdef-explicit";
  write_file(file, value + "\n", 0600);
  config cfg;
  cfg.data_dir = (root_ / "unused").string();
  cfg.secret_file = file.string();
  const secret s = load_or_create_server_secret(cfg);
  EXPECT_TRUE(s.equals(value));
  // The data dir is not touched when an explicit file is given.
  EXPECT_FALSE(fs::exists(root_ / "unused"));
}

TEST_F(server_secret, explicit_file_may_be_read_only_for_owner) {
  const fs::path file = root_ / "ro.secret";
  write_file(file, std::string(32, 'r'), 0400);
  config cfg;
  cfg.secret_file = file.string();
  EXPECT_TRUE(load_or_create_server_secret(cfg).equals(std::string(32, 'r')));
}

TEST_F(server_secret, refuses_group_readable_file) {
  const fs::path file = root_ / "group.secret";
  const std::string value(40, 'g');
  write_file(file, value, 0640);
  config cfg;
  cfg.secret_file = file.string();
  const std::string msg = load_error(cfg);
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("group or others"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(value), std::string::npos) << "the content must never be in an error";
}

TEST_F(server_secret, refuses_other_accessible_file) {
  const fs::path file = root_ / "other.secret";
  write_file(file, std::string(40, 'o'), 0604);
  config cfg;
  cfg.secret_file = file.string();
  EXPECT_NE(load_error(cfg).find("group or others"), std::string::npos);
}

TEST_F(server_secret, refuses_short_file) {
  const fs::path file = root_ / "short.secret";
  // 31 bytes plus a newline: the newline does not count.
  const std::string value(31, 'q');
  write_file(file, value + "\n", 0600);
  config cfg;
  cfg.secret_file = file.string();
  const std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("too short"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(value), std::string::npos);
}

TEST_F(server_secret, refuses_empty_file) {
  const fs::path file = root_ / "empty.secret";
  write_file(file, "", 0600);
  config cfg;
  cfg.secret_file = file.string();
  EXPECT_NE(load_error(cfg).find("too short"), std::string::npos);
}

TEST_F(server_secret, missing_explicit_file_is_an_error) {
  config cfg;
  cfg.data_dir = root_.string();
  cfg.secret_file = (root_ / "nope.secret").string();
  const std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nope.secret"), std::string::npos) << msg;
  // No fallback to creating one.
  EXPECT_FALSE(fs::exists(root_ / "nope.secret"));
  EXPECT_FALSE(fs::exists(root_ / "server.secret"));
}

TEST_F(server_secret, loading_without_creating_reads_the_same_secret_and_never_makes_one) {
  config cfg;
  cfg.data_dir = (root_ / "data").string();
  try {
    (void)load_server_secret(cfg);
    ADD_FAILURE() << "expected infra::error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::config);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(root_ / "data"));
  const secret made = load_or_create_server_secret(cfg);
  EXPECT_TRUE(load_server_secret(cfg).equals(made.reveal()));
  // An explicit file wins, as for the server.
  write_file(root_ / "explicit.secret", std::string(40, 'e'), 0600);
  cfg.secret_file = (root_ / "explicit.secret").string();
  EXPECT_TRUE(load_server_secret(cfg).equals(std::string(40, 'e')));
}

TEST_F(server_secret, refuses_a_directory) {
  const fs::path dir = root_ / "dir.secret";
  ASSERT_TRUE(fs::create_directory(dir));
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  config cfg;
  cfg.secret_file = dir.string();
  EXPECT_NE(load_error(cfg).find("not a regular file"), std::string::npos);
}

TEST_F(server_secret, refuses_a_fifo_without_blocking) {
  const fs::path fifo = root_ / "fifo.secret";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  config cfg;
  cfg.secret_file = fifo.string();
  EXPECT_NE(load_error(cfg).find("not a regular file"), std::string::npos);
}

TEST_F(server_secret, data_dir_that_is_a_file_is_an_error) {
  const fs::path file = root_ / "notadir";
  write_file(file, "x", 0600);
  config cfg;
  cfg.data_dir = file.string();
  EXPECT_FALSE(load_error(cfg).empty());
}

}  // namespace
}  // namespace keyledger::infra

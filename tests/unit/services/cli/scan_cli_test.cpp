// `keyledger scan`: real keys found by file and line with their visible start only, near-misses
// and binary files, .git and links skipped, the exit statuses.
#include "services/cli/scan_cli.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "domain/keys/key_format.hpp"
#include "infra/crypto/crypto.hpp"

namespace keyledger::services {
namespace {

namespace fs = std::filesystem;

struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class scan_cli_test : public ::testing::Test {
 protected:
  scan_cli_test() {
    char dir[] = "/tmp/keyledger-scan-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    root_ = dir;
  }
  ~scan_cli_test() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  std::string write(const std::string& relative, const std::string& text) {
    const auto p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  std::string key(std::string_view prefix = "kl",
                  domain::environment env = domain::environment::live) {
    return domain::generate_key(prefix, env, random_);
  }

  static std::string start_of(const std::string& k) {
    return domain::visible_start(domain::parse_key(k).value());
  }

  outcome run(std::vector<std::string> args) {
    CLI::App app;
    scan_command command(app);
    args.insert(args.begin(), "scan");
    std::vector<const char*> argv{"keyledger"};
    for (const auto& a : args) argv.push_back(a.c_str());
    outcome o;
    try {
      app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
    } catch (const CLI::ParseError& e) {
      o.status = e.get_exit_code() == 0 ? 0 : 2;
      return o;
    }
    EXPECT_TRUE(command.chosen());
    std::ostringstream out;
    std::ostringstream err;
    o.status = command.run(out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  infra::openssl_random_source random_;
  fs::path root_;
};

TEST_F(scan_cli_test, finds_real_keys_by_file_and_line_and_prints_only_their_start) {
  const auto live = key();
  const auto test = key("acme", domain::environment::test);
  const auto a = write("src/config.env", "# settings\nAPI_KEY=" + live + "\nother=1\n");
  const auto b = write("notes.md", "two on a line: `" + test + "` and \"" + live + "\"\n");
  const auto r = run({root_.string()});
  EXPECT_EQ(r.status, 1) << r.err;
  // Directories in name order: notes.md before src/.
  EXPECT_EQ(r.out, b + ":1: " + start_of(test) + "...\n" + b + ":1: " + start_of(live) + "...\n" +
                       a + ":2: " + start_of(live) + "...\n");
  for (const auto& k : {live, test}) {
    EXPECT_EQ(r.out.find(k), std::string::npos) << "never the whole key";
    EXPECT_EQ(r.err.find(k), std::string::npos);
    EXPECT_EQ(r.out.find(k.substr(start_of(k).size(), 8)), std::string::npos)
        << "nothing beyond the visible start";
  }
  EXPECT_NE(r.err.find("3 key(s) found in 2 file(s)"), std::string::npos) << r.err;
}

TEST_F(scan_cli_test, near_misses_binary_files_git_and_links_are_not_findings) {
  const auto live = key();
  std::string bad_checksum = live;
  bad_checksum.back() = bad_checksum.back() == 'A' ? 'B' : 'A';
  write("near.txt", "bad checksum " + bad_checksum + "\nshort " + live.substr(0, live.size() - 1) +
                        "\nno env kl_prod_" + live.substr(8) +
                        "\nghp_16C7e42F292c6912E7710c838347Ae178B4a\n");
  write("image.bin", std::string("\x89PNG\0\0", 6) + live + "\n");
  write(".git/objects/blob", live + "\n");
  write("sub/.git/config", live + "\n");
  const auto outside = write("../keyledger-scan-outside-" + std::to_string(::getpid()), live);
  fs::create_symlink(outside, root_ / "link.txt");
  const auto r = run({root_.string()});
  fs::remove(outside);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST_F(scan_cli_test, a_file_named_directly_is_scanned_and_a_missing_path_is_exit_2) {
  const auto live = key();
  const auto a = write("one.txt", "x\n\n" + live + "\n");
  const auto clean = write("clean.txt", "nothing here\n");
  EXPECT_EQ(run({clean}).status, 0);
  const auto found = run({a});
  EXPECT_EQ(found.status, 1);
  EXPECT_EQ(found.out, a + ":3: " + start_of(live) + "...\n");
  // A path that cannot be read makes the scan incomplete: 2, and what was found is printed.
  const auto missing = run({a, (root_ / "nope").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.out, found.out);
  EXPECT_NE(missing.err.find("nope: no such file or directory"), std::string::npos) << missing.err;
  EXPECT_EQ(run({}).status, 2) << "usage: a path is required";
}

TEST_F(scan_cli_test, scan_paths_counts_the_text_files_it_read) {
  write("a.txt", "a\n");
  write("b/c.txt", "c\n");
  write("b/d.bin", std::string("\0", 1));
  const auto result = scan_paths({root_.string()});
  EXPECT_EQ(result.files_scanned, 2u);
  EXPECT_TRUE(result.findings.empty());
  EXPECT_TRUE(result.errors.empty());
}

}  // namespace
}  // namespace keyledger::services

// The reporter keys of KEYLEDGER_LEAK_REPORTER_KEYS: loaded inline or from a file, refused with
// the key id (never the PEM) named, and the check of a report's signature.
#include "services/app/leaks/leak_reporters.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "infra/core/error.hpp"
#include "tests/support/p256_test_signer.hpp"

namespace keyledger::services {
namespace {

/// A file in a fresh temporary directory, removed with it.
class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    char dir[] = "/tmp/keyledger-reporters-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/reporter.pem";
    std::ofstream(path_) << text;
  }
  ~temp_file() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

std::string config_error_of(const std::vector<infra::leak_reporter_key>& keys) {
  try {
    leak_reporters::load(keys);
  } catch (const infra::error& e) {
    EXPECT_EQ(e.code(), infra::errc::config);
    return e.what();
  }
  return "";
}

TEST(leak_reporters, keys_load_inline_or_from_a_file_and_check_signatures) {
  const test_support::p256_test_signer inline_signer;
  const test_support::p256_test_signer file_signer;
  const temp_file file(file_signer.public_pem());
  const auto reporters =
      leak_reporters::load({{"inline", inline_signer.public_pem(), ""}, {"file", "", file.path()}});
  EXPECT_EQ(reporters.size(), 2u);
  const std::string body = R"([{"token":"t","type":"x"}])";
  EXPECT_EQ(reporters.check("inline", inline_signer.sign_base64(body), body), reporter_check::ok);
  EXPECT_EQ(reporters.check("file", file_signer.sign_base64(body), body), reporter_check::ok);
  // Each key id names its own key only.
  EXPECT_EQ(reporters.check("file", inline_signer.sign_base64(body), body),
            reporter_check::bad_signature);
  EXPECT_EQ(reporters.check("other", inline_signer.sign_base64(body), body),
            reporter_check::unknown_key);
  EXPECT_EQ(reporters.check("inline", "%%%", body), reporter_check::bad_signature);
  EXPECT_EQ(reporters.check("inline", "", body), reporter_check::bad_signature);
  EXPECT_TRUE(leak_reporters::load({}).empty());
}

TEST(leak_reporters, an_unreadable_file_or_a_wrong_key_stops_the_start_naming_the_key_id) {
  const test_support::p256_test_signer signer;
  const std::string missing = config_error_of({{"gh-1", "", "/nonexistent/reporter.pem"}});
  EXPECT_NE(missing.find("key id gh-1"), std::string::npos) << missing;
  EXPECT_NE(missing.find("cannot read"), std::string::npos) << missing;
  const temp_file garbage("not a key");
  const std::string wrong = config_error_of({{"gh-2", "", garbage.path()}});
  EXPECT_NE(wrong.find("key id gh-2"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("P-256"), std::string::npos) << wrong;
  const std::string pem = signer.public_pem();
  std::string damaged = pem;
  damaged[40] = damaged[40] == 'A' ? 'B' : 'A';
  const std::string bad_inline = config_error_of({{"gh-3", damaged, ""}});
  EXPECT_NE(bad_inline.find("key id gh-3"), std::string::npos) << bad_inline;
  EXPECT_EQ(bad_inline.find(damaged.substr(27, 20)), std::string::npos) << "the PEM is not echoed";
}

}  // namespace
}  // namespace keyledger::services

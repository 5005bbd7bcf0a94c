#include "infra/core/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <system_error>

namespace keyledger::infra {
namespace {

constexpr errc all_codes[] = {
    errc::ok,
    errc::bad_request,
    errc::unauthorized,
    errc::forbidden,
    errc::not_found,
    errc::conflict,
    errc::payload_too_large,
    errc::overloaded,
    errc::unavailable,
    errc::deadline_exceeded,
    errc::config,
    errc::storage,
    errc::internal,
};

TEST(keyledger_category, is_named_keyledger_and_is_one_instance) {
  EXPECT_STREQ(keyledger_category().name(), "keyledger");
  EXPECT_EQ(&keyledger_category(), &keyledger_category());
}

TEST(keyledger_category, given_every_code_then_a_distinct_known_message) {
  std::set<std::string> messages;
  for (const auto code : all_codes) {
    const std::string message = make_error_code(code).message();
    EXPECT_NE(message.find_first_not_of(' '), std::string::npos);
    EXPECT_EQ(message.find("unknown"), std::string::npos) << message;
    messages.insert(message);
  }
  EXPECT_EQ(messages.size(), std::size(all_codes));
  EXPECT_EQ(make_error_code(errc::conflict).message(), "conflict");
  EXPECT_EQ(make_error_code(errc::config).message(), "configuration error");
  EXPECT_EQ(keyledger_category().message(9999), "unknown keyledger error");
}

TEST(make_error_code, given_an_errc_then_implicitly_an_error_code_of_our_category) {
  const std::error_code ec = errc::not_found;
  EXPECT_EQ(ec.category(), keyledger_category());
  EXPECT_EQ(ec.value(), static_cast<int>(errc::not_found));
  EXPECT_TRUE(ec == errc::not_found);
  EXPECT_FALSE(ec == errc::conflict);
  EXPECT_FALSE(std::error_code{errc::ok});
  EXPECT_TRUE(std::error_code{errc::internal});
}

TEST(error, carries_its_code_and_detail) {
  try {
    throw error(errc::storage, "insert failed");
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "insert failed");
    const auto* ours = dynamic_cast<const error*>(&e);
    ASSERT_NE(ours, nullptr);
    EXPECT_EQ(ours->code(), errc::storage);
  }
}

}  // namespace
}  // namespace keyledger::infra

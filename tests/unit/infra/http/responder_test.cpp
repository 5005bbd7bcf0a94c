// responder (infra/http/responder.hpp): holds any callable taking an answer, small ones inline,
// larger ones boxed; copies call their own copy, a moved-from responder is empty.
#include "infra/http/responder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "infra/http/server.hpp"

namespace keyledger::infra {
namespace {

TEST(responder_test, given_a_small_callable_holding_a_shared_pointer_then_copies_share_its_target) {
  auto seen = std::make_shared<std::vector<unsigned>>();
  responder r = [seen, tag = std::uint64_t{7}](http_response a) {
    seen->push_back(a.status + tag);
  };
  responder copy = r;
  http_response a;
  a.status = 200;
  r(a);
  copy(a);
  EXPECT_EQ(*seen, (std::vector<unsigned>{207, 207}));
  EXPECT_EQ(seen.use_count(), 3);  // r, copy and this test
}

TEST(responder_test, given_a_callable_larger_than_inline_then_it_works_the_same) {
  std::array<char, responder::inline_size * 4> payload{};
  payload.fill('p');
  std::string got;
  responder r = [payload, &got](http_response a) {
    got = a.body + std::string(payload.begin(), payload.begin() + 3);
  };
  responder copy = r;
  responder moved = std::move(r);
  EXPECT_FALSE(static_cast<bool>(r));  // NOLINT(bugprone-use-after-move): moved-from is empty
  http_response a;
  a.body = "body:";
  moved(a);
  EXPECT_EQ(got, "body:ppp");
  got.clear();
  copy(a);
  EXPECT_EQ(got, "body:ppp");
}

TEST(responder_test, given_assignment_then_the_old_callable_is_released) {
  auto first = std::make_shared<int>(1);
  auto second = std::make_shared<int>(2);
  int called = 0;
  responder r = [first, &called](http_response) { called = *first; };
  r = responder([second, &called](http_response) { called = *second; });
  EXPECT_EQ(first.use_count(), 1);
  r(http_response{});
  EXPECT_EQ(called, 2);
  const responder other = r;
  r = other;  // copy assignment
  r = r;      // self-assignment keeps it
  r(http_response{});
  EXPECT_EQ(called, 2);
  EXPECT_EQ(second.use_count(), 3);
}

TEST(responder_test, given_no_callable_then_calling_throws_bad_function_call) {
  const responder empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_THROW(empty(http_response{}), std::bad_function_call);
}

}  // namespace
}  // namespace keyledger::infra

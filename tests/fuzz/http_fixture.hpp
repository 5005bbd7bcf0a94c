#pragma once

// The API handler of the route tests (tests/unit/services/http/routes_fixture.hpp: the in-memory
// event store and fakes, a bootstrapped workspace with its owner and admin key), made once per
// fuzzing process and driven without sockets. Inputs name the fixture's credentials by
// placeholder - "@ADMIN@" for the admin key, "@KEY@" for a second live key - so that the fuzzer
// reaches past authentication without ever seeing a real secret in the corpus.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "infra/core/log.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::fuzz {

class http_fixture final : public services::routes_testing::routes_test {
 public:
  http_fixture() { second_key_ = create(R"({"name":"fuzz","environment":"live"})").key; }

  /// Made on first use and never destroyed (its pool thread outlives every input).
  static http_fixture& get() {
    static http_fixture* const fixture = [] {
      // The access log line of every request would drown libFuzzer's own output.
      infra::set_log_level(infra::log_level::warn);
      return new http_fixture();
    }();
    return *fixture;
  }

  /// `text` with each placeholder replaced by the credential it names.
  std::string with_credentials(std::string text) const {
    replace_all(text, "@ADMIN@", admin_);
    replace_all(text, "@KEY@", second_key_);
    return text;
  }

  /// The handler's answer to `request`, playing the subscription while a command waits for its
  /// event (as routes_test::call does). A request that gets no answer, or two, is a bug: it
  /// aborts.
  infra::http_response respond(infra::http_request request) {
    auto promise = std::make_shared<std::promise<infra::http_response>>();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto future = promise->get_future();
    handler_(std::move(request), [promise, answered](infra::http_response r) {
      // Each request is answered exactly once (the server drops a second answer).
      FUZZ_CHECK(!answered->exchange(true));
      promise->set_value(std::move(r));
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (future.wait_for(std::chrono::microseconds(200)) != std::future_status::ready) {
      feed();
      FUZZ_CHECK(std::chrono::steady_clock::now() < deadline);
    }
    feed();
    return future.get();
  }

  void TestBody() override {}

  test_support::memory_event_store& store() { return store_; }
  const test_support::p256_test_signer& reporter() const { return reporter_; }
  const std::string& second_key() const { return second_key_; }
  const std::string& admin_key() const { return admin_; }

 private:
  static void replace_all(std::string& text, std::string_view from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }

  std::string second_key_;
};

}  // namespace keyledger::fuzz

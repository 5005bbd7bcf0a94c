#pragma once

// What the signing key tests share: the in-memory log and key store, a manual clock, the sealer
// derived from a test server secret, the service and a ring fed from the log as the subscription
// would feed it.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "domain/encoding.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/oauth/signing_key_ring.hpp"
#include "services/app/oauth/signing_key_service.hpp"
#include "tests/support/interleaving_event_store.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_event_store.hpp"
#include "tests/support/memory_signing_key_store.hpp"

namespace keyledger::services::signing_testing {

using namespace std::chrono_literals;
using test_support::interleaving_event_store;

inline const std::string server_secret(32, 's');

class signing_keys_test : public ::testing::Test {
 protected:
  /// Applies what the log holds to the ring, as the subscription would.
  void feed() {
    std::lock_guard lock(feed_mutex_);
    for (const auto& e : events_.read_all(ring_.applied_seq(), 1000)) ring_.apply(e);
  }

  /// One pass of the schedule, then the ring catches up.
  signing_key_step tick() {
    auto step = service_.run_schedule(events_, secrets_);
    feed();
    return step;
  }

  /// A claims set for tests.
  static std::string claims(const std::string& sub = "usr_1") {
    return R"({"sub":")" + sub + R"(","exp":1900000000})";
  }

  /// The kid in a compact JWS's header.
  static std::string kid_of(const std::string& token) {
    const auto header = domain::base64url_decode(token.substr(0, token.find('.')));
    if (!header) return "(no header)";
    const auto at = header->find(R"("kid":")");
    if (at == std::string::npos) return "(no kid)";
    return header->substr(at + 7, header->find('"', at + 7) - at - 7);
  }

  std::string sign_ok(const std::string& payload = claims()) {
    auto r = ring_.sign(payload);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
    return r.ok() ? r.value() : std::string();
  }

  std::unique_ptr<infra::signing_key_store> open_secrets() {
    return std::make_unique<test_support::signing_key_store_ref>(secrets_);
  }

  infra::openssl_random_source random_;
  test_support::manual_clock clock_{domain::timestamp(std::chrono::seconds(1'800'000'000))};
  test_support::memory_event_store events_;
  test_support::memory_signing_key_store secrets_;
  infra::response_sealer sealer_{infra::derive_key(server_secret, signing_key_sealing_info)};
  signing_key_service service_{sealer_, random_, clock_};
  signing_key_ring ring_{sealer_, [this] { return open_secrets(); }, clock_};
  std::mutex feed_mutex_;
};

}  // namespace keyledger::services::signing_testing

#pragma once

// Shared by the audit tests: an in-memory log and audit store, a manual clock, the log's
// checkpoint key, a writer, and helpers to append events of a few workspaces.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "domain/types.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/audit_proofs.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/app/audit/log_export.hpp"
#include "services/app/audit/offline_verifier.hpp"
#include "tests/support/manual_clock.hpp"
#include "tests/support/memory_audit_store.hpp"
#include "tests/support/memory_event_store.hpp"

namespace keyledger::services::audit_testing {

using namespace std::chrono_literals;

inline const domain::timestamp start_time = *domain::parse_timestamp("2026-12-07T10:00:00Z");

class audit_test : public ::testing::Test {
 protected:
  audit_test()
      : clock_(start_time),
        sealer_(infra::derive_key("audit-test-secret", checkpoint_key_seal_info)),
        key_(checkpoint_key::load_or_create(audit_, sealer_, "keyledger.test/log")),
        verifier_(*checkpoint_verifier::parse(key_.verifier_key())),
        proofs_(hasher_) {}

  audit_log_writer make_writer(std::uint64_t every_events = 5, std::chrono::seconds every = 10s) {
    audit_log_writer::options o;
    o.checkpoint_every_events = every_events;
    o.checkpoint_every = every;
    o.batch = 3;
    return audit_log_writer(hasher_, key_, clock_, o);
  }

  /// Appends one event to `stream` (its first names `workspace` for keys), one second apart.
  void append(const std::string& stream, const std::string& workspace,
              const std::string& type = "KeyCreated") {
    const auto version = events_.read_stream(stream).size();
    std::string payload = R"({"workspace_id":")" + workspace + R"(","n":)" +
                          std::to_string(events_.head_seq() + 1) + "}";
    events_.append(stream, version, {{domain::new_uuid(random_), type, payload}},
                   {"usr_1", "req_" + std::to_string(events_.head_seq()), "10.0.0.1", ""},
                   domain::to_micros(clock_.now()));
    clock_.advance(1s);
  }

  /// `n` events of two workspaces' keys: the i-th (from 0) is ws_b's when i % 3 == 0, two
  /// events per key.
  void append_many(int n) {
    for (int i = 0; i < n; ++i) {
      const bool a = i % 3 != 0;
      append(std::string("api_key-key_") + (a ? "a" : "b") + std::to_string(i / 2),
             a ? "ws_a" : "ws_b");
    }
  }

  std::string export_text(std::uint64_t since = 0) {
    std::ostringstream out;
    export_audit_log(events_, audit_, since, clock_, out, {});
    return out.str();
  }

  audit_verification verify_text(const std::string& text,
                                 const audit_verify_options& options = {}) {
    std::istringstream in(text);
    return verify_audit_file(in, verifier_, hasher_, options);
  }

  test_support::manual_clock clock_;
  infra::openssl_random_source random_;
  test_support::memory_event_store events_;
  test_support::memory_audit_store audit_{events_};
  infra::response_sealer sealer_;
  infra::rfc6962_hasher hasher_;
  checkpoint_key key_;
  checkpoint_verifier verifier_;
  audit_proofs proofs_;
};

/// The lines of a text, and back.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::string text_of(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace keyledger::services::audit_testing

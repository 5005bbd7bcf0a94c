// The verifiable log's benchmark (docs/performance.md, "Audit"). On a fresh database
// (DATABASE_URL, migrated here as in production: `keyledger migrate` before):
//   1. appends: writers append one event per command through pg_event_store for a few seconds,
//      without and with the checkpoint signer extending the tree beside them (as every node
//      runs it), alternated; the ratio with / without is the bar (>= 0.9);
//   2. the log is filled to BENCH_AUDIT_EVENTS events (default 200000) and the signer catches
//      up (its rate is printed);
//   3. export: export_audit_log of the whole log into memory, events/s (bar >= 200k/s);
//   4. offline verification of that export, events/s (bar >= 200k/s).
// Exit 0 when every bar holds, 1 when one does not, 2 when the benchmark could not run.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "infra/pg/pg_audit_store.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/app/audit/log_export.hpp"
#include "services/app/audit/offline_verifier.hpp"

namespace kl = keyledger;
using clock_type = std::chrono::steady_clock;

namespace {

long env_number(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atol(v) : fallback;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::string payload(long i) {
  return R"({"workspace_id":"ws_bench)" + std::to_string(i % 100) +
         R"(","name":"bench key","scopes":["leads:read","leads:write"],"n":)" + std::to_string(i) +
         "}";
}

/// Appends single-event commands from `writers` threads for `seconds`: events/s.
double append_rate(const std::string& url, int writers, double seconds, std::atomic<long>& next) {
  std::atomic<long> appended{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  kl::infra::openssl_random_source random;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&] {
      kl::infra::pg_event_store store(url);
      kl::infra::openssl_random_source mine;
      while (!stop.load()) {
        const long i = next.fetch_add(1);
        store.append("api_key-bench_" + std::to_string(i), 0,
                     {{kl::domain::new_uuid(mine), "KeyCreated", payload(i)}},
                     {"bench", "req_bench", "127.0.0.1", ""},
                     std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
        appended.fetch_add(1);
      }
    });
  }
  const auto start = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(appended.load()) / seconds_since(start);
}

}  // namespace

int main() {
  const char* url_env = std::getenv("DATABASE_URL");
  if (url_env == nullptr) {
    std::cerr << "audit_bench: DATABASE_URL is required\n";
    return 2;
  }
  const std::string url(url_env);
  const long target = env_number("BENCH_AUDIT_EVENTS", 200'000);
  const int writers = static_cast<int>(env_number("BENCH_AUDIT_WRITERS", 16));
  const double seconds = static_cast<double>(env_number("BENCH_SECONDS", 5));
  const int rounds = static_cast<int>(env_number("BENCH_ROUNDS", 2));
  try {
    kl::infra::system_clock clock;
    kl::infra::openssl_random_source random;
    kl::infra::pg_audit_store audit(url);
    const kl::infra::response_sealer sealer(
        kl::infra::derive_key("audit-bench-secret", kl::services::checkpoint_key_seal_info));
    const auto key = kl::services::checkpoint_key::load_or_create(audit, sealer, "keyledger/bench");
    const kl::infra::rfc6962_hasher hasher;
    kl::services::audit_log_writer writer(hasher, key, clock, {});
    std::atomic<long> next{0};

    // 1. Appends without and with the signer, alternated.
    double without = 0;
    double with = 0;
    for (int r = 0; r < rounds; ++r) {
      const double a = append_rate(url, writers, seconds, next);
      writer.run_once(audit);  // the tree catches up between runs, not timed
      std::atomic<bool> stop{false};
      std::thread signer([&] {
        kl::infra::pg_audit_store own(url);
        kl::services::audit_log_writer w(hasher, key, clock, {});
        // As audit_jobs runs it on every node: a pass, then 500 ms.
        while (!stop.load()) {
          w.run_once(own);
          for (int i = 0; i < 50 && !stop.load(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        }
      });
      const double b = append_rate(url, writers, seconds, next);
      stop = true;
      signer.join();
      std::printf("round %d: appends without the signer %.0f/s, with it %.0f/s (%.3f)\n", r + 1, a,
                  b, b / a);
      without += a;
      with += b;
    }
    without /= rounds;
    with /= rounds;

    // 2. Fill the log, then the signer catches up.
    kl::infra::pg_event_store store(url);
    for (long have = static_cast<long>(store.head_seq()); have < target;) {
      std::vector<kl::infra::new_event> batch;
      const long n = std::min<long>(500, target - have);
      for (long i = 0; i < n; ++i) {
        batch.push_back({kl::domain::new_uuid(random), "KeyUpdated", payload(have + i)});
      }
      store.append("api_key-fill_" + std::to_string(have), 0, batch, {"bench", "req", "", ""},
                   1'800'000'000'000'000);
      have += n;
    }
    const auto catch_up_start = clock_type::now();
    const auto before = audit.tree_size();
    // Until the tree has every event (a first pass may lose the race to the signer thread's
    // last write and start again from the stored tree).
    for (int pass = 0; pass < 100 && audit.tree_size() < store.head_seq(); ++pass) {
      writer.run_once(audit);
    }
    const auto tree = audit.tree_size();
    const double catch_up = static_cast<double>(tree - before) / seconds_since(catch_up_start);
    std::printf("signer: %lu events added to the tree at %.0f events/s (tree %lu)\n",
                static_cast<unsigned long>(tree - before), catch_up,
                static_cast<unsigned long>(tree));

    // What reading the events alone costs (the export's floor).
    {
      const auto read_start = clock_type::now();
      std::uint64_t n = 0;
      for (std::uint64_t after = 0;;) {
        const auto page = store.read_all(after, 5000);
        if (page.empty()) break;
        n += page.size();
        after = page.back().global_seq;
      }
      std::printf("read_all alone: %.0f events/s\n",
                  static_cast<double>(n) / seconds_since(read_start));
    }

    // 3. Export, to a file as `keyledger audit export --out` writes it.
    const std::string file = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                             "/keyledger-audit-bench-" + std::to_string(::getpid()) + ".ndjson";
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const auto export_start = clock_type::now();
    const auto exported = kl::services::export_audit_log(store, audit, 0, clock, out, {});
    out.close();
    const double export_rate = static_cast<double>(exported.events) / seconds_since(export_start);
    std::printf("export: %lu events, %lu checkpoints, %.1f MB at %.0f events/s\n",
                static_cast<unsigned long>(exported.events),
                static_cast<unsigned long>(exported.checkpoints),
                static_cast<double>(std::filesystem::file_size(file)) / 1e6, export_rate);

    // 4. Offline verification of that file.
    const auto verifier = kl::services::checkpoint_verifier::parse(key.verifier_key());
    std::ifstream in(file, std::ios::binary);
    const auto verify_start = clock_type::now();
    const auto v = kl::services::verify_audit_file(in, *verifier, hasher);
    const double verify_rate = static_cast<double>(exported.events) / seconds_since(verify_start);
    std::filesystem::remove(file);
    std::printf("verify: %s\nverify: %.0f events/s\n", v.message.c_str(), verify_rate);
    if (!v.ok) return 2;

    const double ratio = with / without;
    const bool appends_ok = ratio >= 0.9;
    const bool export_ok = export_rate >= 200'000;
    const bool verify_ok = verify_rate >= 200'000;
    std::printf("\naudit: appends with the signer / without = %.0f / %.0f = %.3f (bar 0.9: %s)\n",
                with, without, ratio, appends_ok ? "PASS" : "MISS");
    std::printf("audit: export %.0f events/s (bar 200000: %s)\n", export_rate,
                export_ok ? "PASS" : "MISS");
    std::printf("audit: offline verification %.0f events/s (bar 200000: %s)\n", verify_rate,
                verify_ok ? "PASS" : "MISS");
    return appends_ok && export_ok && verify_ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "audit_bench: " << e.what() << "\n";
    return 2;
  }
}

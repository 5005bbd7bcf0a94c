// The seeding tool of tests/bench/scale_bench.sh (docs/performance.md, "A million keys"). On a
// migrated database (DATABASE_URL) and with the server secret of KEYLEDGER_DATA_DIR, exactly as
// `keyledger bootstrap` and `keyledger serve` find them:
//   1. bootstraps --workspaces workspaces (workspace_service::bootstrap with its first owner, as
//      `keyledger bootstrap` does), each with the demo scope catalog and a policy of its own;
//   2. creates --keys keys with key_service::create, the code behind POST /v1/keys: the first
//      --big-keys in workspace 0, the others spread over the rest, with mixed settings (live and
//      test, scopes, expiry or none, CIDR lists, rate limits, off the record, varied names);
//      every key is owned by its workspace's owner and verifies from 127.0.0.1;
//   3. the events those commands decide are gathered by an event_store adapter and written with
//      pg_event_store::append_batch, --batch commands per transaction (the group-commit path);
//   4. the audit tree is extended over the whole log and its checkpoints signed, as the servers'
//      checkpoint signer would have done while the keys were made (with the server secret's
//      checkpoint key, made here as `keyledger serve` makes it): a restart then starts on a
//      log whose tree is current, and the signer does not catch up during the measurements.
// Writes every key's secret, one a line, to --keys-out and the big workspace's admin key to
// --admin-key-out (both created mode 600), and one JSON line of figures to stdout.
// Exit 0 when everything was written, 1 on a refusal or an error, 2 on bad arguments.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/types.hpp"
#include "domain/workspace/workspace.hpp"
#include "infra/core/config.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "infra/json/json.hpp"
#include "infra/pg/pg_audit_store.hpp"
#include "infra/pg/pg_event_store.hpp"
#include "infra/pg/pg_people_store.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/app/key_service.hpp"
#include "services/app/user_service.hpp"
#include "services/app/workspace_service.hpp"

namespace kl = keyledger;
using clock_type = std::chrono::steady_clock;

namespace {

const std::vector<std::string> scope_catalog = {"leads:read",     "leads:write",
                                                "proposals:read", "messages:write",
                                                "webhooks:write", "calendar:read"};

/// An event_store that keeps what commands append, for append_batch. Commands on new streams
/// only (key_service::create reads a stream that does not exist yet); anything else throws.
class gathering_store final : public kl::infra::event_store {
 public:
  struct item {
    std::string stream_id;
    std::uint64_t expected_version = 0;
    std::vector<kl::infra::new_event> events;
    kl::infra::event_metadata metadata;
    std::int64_t recorded_at_us = 0;
  };

  kl::infra::append_result append(std::string_view stream_id, std::uint64_t expected_version,
                                  const std::vector<kl::infra::new_event>& events,
                                  const kl::infra::event_metadata& metadata,
                                  std::int64_t recorded_at_us) override {
    pending_.push_back(
        {std::string(stream_id), expected_version, events, metadata, recorded_at_us});
    // The positions are known only once the batch is written; nothing here reads them.
    return {0, 0, expected_version + events.size(), false};
  }
  std::vector<kl::infra::append_result> append_all(std::span<const kl::infra::stream_append>,
                                                   const kl::infra::event_metadata&,
                                                   std::int64_t) override {
    throw std::logic_error("gathering_store: append_all is not used by create");
  }
  std::vector<kl::infra::recorded_event> read_stream(std::string_view) override { return {}; }
  std::vector<kl::infra::recorded_event> read_all(std::uint64_t, std::size_t) override {
    throw std::logic_error("gathering_store: read_all");
  }
  std::vector<kl::infra::recorded_event> read_streams_until(std::span<const std::string>,
                                                            std::int64_t) override {
    throw std::logic_error("gathering_store: read_streams_until");
  }
  std::uint64_t head_seq() override { throw std::logic_error("gathering_store: head_seq"); }

  std::size_t size() const noexcept { return pending_.size(); }

  /// Writes the gathered commands in one append_batch; the number of events written.
  std::size_t flush(kl::infra::pg_event_store& store) {
    if (pending_.empty()) return 0;
    std::vector<kl::infra::pg_event_store::batch_item> items;
    items.reserve(pending_.size());
    std::size_t events = 0;
    for (const auto& p : pending_) {
      items.push_back({p.stream_id, p.expected_version, p.events, &p.metadata, p.recorded_at_us});
      events += p.events.size();
    }
    const auto outcomes = store.append_batch(items);
    for (const auto& o : outcomes) {
      if (o.error != kl::infra::errc::ok) {
        throw std::runtime_error("append_batch refused an item: " + o.detail);
      }
    }
    pending_.clear();
    return events;
  }

 private:
  std::vector<item> pending_;
};

struct options {
  long keys = 1'000'000;
  long workspaces = 100;
  long big_keys = 100'000;
  long batch = 1000;
  std::string keys_out;
  std::string admin_key_out;
};

[[noreturn]] void usage(const char* why) {
  std::cerr << "bench_scale_seed: " << why
            << "\nusage: bench_scale_seed --keys-out FILE --admin-key-out FILE [--keys N]"
               " [--workspaces N] [--big-keys N] [--batch N]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("a value is missing");
    const char* v = argv[++i];
    if (a == "--keys")
      o.keys = std::atol(v);
    else if (a == "--workspaces")
      o.workspaces = std::atol(v);
    else if (a == "--big-keys")
      o.big_keys = std::atol(v);
    else if (a == "--batch")
      o.batch = std::atol(v);
    else if (a == "--keys-out")
      o.keys_out = v;
    else if (a == "--admin-key-out")
      o.admin_key_out = v;
    else
      usage("unknown argument");
  }
  if (o.keys_out.empty() || o.admin_key_out.empty()) usage("--keys-out and --admin-key-out");
  if (o.workspaces < 2 || o.keys < 1 || o.batch < 1 || o.big_keys < 0 || o.big_keys > o.keys) {
    usage("need --workspaces >= 2, --keys >= 1, --batch >= 1, 0 <= --big-keys <= --keys");
  }
  return o;
}

/// A private file for secrets (mode 600 from the start).
std::FILE* open_private(const std::string& path) {
  const mode_t old = ::umask(077);
  std::FILE* f = std::fopen(path.c_str(), "w");
  ::umask(old);
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  return f;
}

struct seeded_workspace {
  kl::domain::workspace_state state;
  std::string owner_user_id;
};

const char* const words[] = {"billing", "crm",  "search", "ingest", "mobile app", "partner",
                             "reports", "sync", "etl",    "widget", "zapier",     "backoffice"};

/// The settings of the i-th key: a deterministic mix (docs/performance.md lists it).
kl::services::create_key_input key_input(long i, const seeded_workspace& w) {
  kl::services::create_key_input in;
  in.workspace_id = w.state.workspace_id;
  in.key_prefix = w.state.key_prefix;
  in.policy = w.state.policy;
  in.owner_user_id = w.owner_user_id;
  in.env = i % 3 == 0 ? kl::domain::environment::live : kl::domain::environment::test;
  const std::string word = words[i % std::size(words)];
  const std::string name = w.state.policy.names_allow_spaces ? word + " key " + std::to_string(i)
                                                             : "svc-" + std::to_string(i);
  in.settings.name = name;
  // One to three platform scopes; every tenth key may also read keys.
  for (long s = 0; s <= i % 3; ++s) {
    in.settings.scopes.push_back(scope_catalog[(i + s * 2) % scope_catalog.size()]);
  }
  if (i % 10 == 0) in.settings.scopes.push_back("keys:read");
  // Every fifth key has an allow-list; each includes the loopback address the benchmark uses.
  if (i % 5 == 0) in.settings.allowed_cidrs = {"10.0.0.0/8", "127.0.0.1/32"};
  if (i % 5 == 1 && i % 2 == 0) {
    in.settings.allowed_cidrs = {"192.168.0.0/16", "2001:db8::/32", "127.0.0.0/8"};
  }
  // Generous limits: a random key per request is never near its limit.
  if (i % 7 == 0) in.settings.limit = kl::domain::rate_limit{1000, 60};
  if (i % 11 == 0) in.settings.off_the_record = true;
  // Expiry: none where the policy allows, else 30 to 365 days (never within the warning lead).
  static constexpr long lifespans[] = {30, 90, 180, 365};
  if (w.state.policy.allow_no_expiry && i % 4 == 0) {
    in.expiry.never_expires = true;
  } else if (i % 4 != 1) {
    in.expiry.expires_in_days = lifespans[i % 4];
  }  // else the workspace's default lifespan
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  try {
    const auto cfg = kl::infra::load_config_from_env();
    const auto& url = kl::infra::require_database_url(cfg);
    kl::infra::system_clock clock;
    kl::infra::openssl_random_source random;
    auto server_secret = kl::infra::load_or_create_server_secret(cfg);
    const kl::infra::response_sealer audit_sealer(
        kl::infra::derive_key(server_secret.reveal(), kl::services::checkpoint_key_seal_info));
    kl::services::user_service users(
        kl::infra::derive_key(server_secret.reveal(), "keyledger/invitation/v1"),
        kl::infra::derive_key(server_secret.reveal(), "keyledger/csrf/v1"), random, clock, {});
    kl::infra::hmac_key_hasher hasher(std::move(server_secret));
    kl::infra::pg_event_store store(url);
    kl::infra::pg_people_store people(url);
    kl::services::key_service keys(hasher, random, clock);
    kl::services::workspace_service workspace_commands(keys, random, clock);

    // 1. The workspaces, each with its owner and admin key, as `keyledger bootstrap` makes them.
    const auto started = clock_type::now();
    std::vector<seeded_workspace> workspaces;
    std::FILE* admin_out = open_private(o.admin_key_out);
    for (long w = 0; w < o.workspaces; ++w) {
      char name[32];
      std::snprintf(name, sizeof name, "scale-%03ld", w);
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "s%03ld", w);
      kl::domain::key_policy policy;
      policy.allow_no_expiry = w % 2 == 0;
      policy.names_allow_spaces = w % 3 != 2;
      const kl::services::request_context ctx{"bootstrap", kl::domain::new_id("req", random), "",
                                              ""};
      std::string owner_id;
      auto made = workspace_commands.bootstrap(
          store, name, prefix, ctx, policy, scope_catalog,
          [&](const kl::domain::workspace_state& ws) -> std::string {
            auto owner = users.bootstrap_owner(store, people, ws.workspace_id,
                                               std::string("owner") + name + "@example.com", ctx);
            if (!owner) throw std::runtime_error("creating a workspace owner failed");
            owner_id = owner->user_id;
            return owner_id;
          });
      if (!made) {
        throw std::runtime_error(std::string("bootstrap refused: ") +
                                 std::string(kl::domain::to_string(made.error())));
      }
      if (w == 0)
        std::fprintf(admin_out, "%s\n", std::string(made->admin_key.key.reveal()).c_str());
      workspaces.push_back({made->workspace, owner_id});
    }
    std::fclose(admin_out);
    const double bootstrap_seconds =
        std::chrono::duration<double>(clock_type::now() - started).count();

    // 2 and 3. The keys, through key_service::create, written append_batch by append_batch.
    std::FILE* keys_out = open_private(o.keys_out);
    gathering_store gathered;
    const auto keys_started = clock_type::now();
    std::size_t events = 0;
    kl::services::request_context ctx{"bench-seed", "", "127.0.0.1", ""};
    for (long i = 0; i < o.keys; ++i) {
      const auto& w =
          i < o.big_keys
              ? workspaces[0]
              : workspaces[1 + std::size_t(i - o.big_keys) % std::size_t(o.workspaces - 1)];
      if (gathered.size() == 0) ctx.request_id = kl::domain::new_id("req", random);
      auto created = keys.create(gathered, key_input(i, w), ctx);
      if (!created) {
        throw std::runtime_error("create refused key " + std::to_string(i) + ": " +
                                 std::string(kl::domain::to_string(created.error())));
      }
      const auto secret = created->key.reveal();
      std::fwrite(secret.data(), 1, secret.size(), keys_out);
      std::fputc('\n', keys_out);
      if (gathered.size() == std::size_t(o.batch)) events += gathered.flush(store);
      if ((i + 1) % 100'000 == 0) {
        std::cerr << "bench_scale_seed: " << (i + 1) << " keys\n";
      }
    }
    events += gathered.flush(store);
    if (std::fclose(keys_out) != 0) throw std::runtime_error("cannot write " + o.keys_out);
    const double key_seconds =
        std::chrono::duration<double>(clock_type::now() - keys_started).count();

    // 4. The audit tree and its checkpoints, with serve's settings.
    const auto audit_started = clock_type::now();
    kl::infra::pg_audit_store audit(url);
    const auto checkpoints = kl::services::checkpoint_key::load_or_create(
        audit, audit_sealer,
        cfg.audit_origin.empty() ? kl::services::new_log_origin(random) : cfg.audit_origin);
    const kl::infra::rfc6962_hasher tree_hasher;
    kl::services::audit_log_writer::options writer_options;
    writer_options.checkpoint_every_events = cfg.audit_checkpoint_events;
    writer_options.checkpoint_every = std::chrono::seconds(cfg.audit_checkpoint_seconds);
    kl::services::audit_log_writer writer(tree_hasher, checkpoints, clock, writer_options);
    const std::uint64_t head = store.head_seq();
    std::uint64_t tree_size = 0;
    while (tree_size < head) {
      const auto done = writer.run_once(audit);
      if (done.tree_size <= tree_size) throw std::runtime_error("the audit tree does not grow");
      tree_size = done.tree_size;
    }
    const double audit_seconds =
        std::chrono::duration<double>(clock_type::now() - audit_started).count();

    kl::infra::json_writer out;
    out.begin_object()
        .field("workspaces", std::int64_t(o.workspaces))
        .field("big_workspace_id", workspaces[0].state.workspace_id)
        .field("keys", std::int64_t(o.keys))
        .field("key_events", std::int64_t(events))
        .field("head_seq", std::int64_t(head))
        .field("audit_tree_size", std::int64_t(tree_size))
        .field("audit_ms", std::int64_t(audit_seconds * 1000))
        .field("bootstrap_ms", std::int64_t(bootstrap_seconds * 1000))
        .field("key_ms", std::int64_t(key_seconds * 1000))
        .field("keys_per_second",
               std::int64_t(key_seconds > 0 ? double(o.keys) / key_seconds : 0.0))
        .end_object();
    std::cout << out.str() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_scale_seed: " << e.what() << "\n";
    return 1;
  }
}

#pragma once

// The verifiable log for the route tests: an in-memory audit store over the fixture's event
// store, its checkpoint key, the signer and the proofs, as the composition wires them.

#include <string>

#include "infra/crypto/aead.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/audit_proofs.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/http/audit/audit_routes.hpp"
#include "tests/support/memory_audit_store.hpp"

namespace keyledger::services::routes_testing {

struct audit_parts {
  audit_parts(test_support::memory_event_store& events, const domain::clock& clock)
      : store(events),
        sealer(infra::derive_key(std::string(32, 'a'), checkpoint_key_seal_info)),
        key(checkpoint_key::load_or_create(store, sealer, "keyledger.test/routes")),
        proofs(hasher),
        writer(hasher, key, clock, {2, std::chrono::seconds(3600), 100}),
        components{proofs, [this](std::size_t) -> infra::audit_store& { return store; },
                   key.origin(), key.verifier_key(),
                   std::string(reinterpret_cast<const char*>(key.public_key().bytes().data()),
                               key.public_key().bytes().size())} {}

  /// Extends the tree to the log's head (a checkpoint every 2 events).
  void sign() { writer.run_once(store); }

  test_support::memory_audit_store store;
  infra::response_sealer sealer;
  infra::rfc6962_hasher hasher;
  checkpoint_key key;
  audit_proofs proofs;
  audit_log_writer writer;
  audit_components components;
};

}  // namespace keyledger::services::routes_testing

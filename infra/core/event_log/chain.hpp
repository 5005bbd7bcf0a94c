#pragma once

// The hash chain over the log: every stored event's SHA-256 covers the previous event's hash
// and its own exact stored bytes (docs/event-store.md "Hash chain"). Used by every event_store
// implementation when it appends, and by whoever verifies the log.

#include <cstdint>
#include <string>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// Recomputes the hash of `e` given the previous event's hash (all zero before seq 1).
/// The byte layout is documented in docs/event-store.md.
sha256_digest chain_hash(const sha256_digest& prev, const recorded_event& e);

/// Result of verifying the whole chain from seq 1.
struct chain_verification {
  bool ok = true;
  std::uint64_t events_checked = 0;
  std::uint64_t first_bad_seq = 0;  ///< 0 when ok
  std::string problem;              ///< e.g. "hash mismatch", "gap before seq"
};

/// Reads the log in order and checks gaplessness and every hash.
chain_verification verify_chain(event_store& store);

}  // namespace keyledger::infra

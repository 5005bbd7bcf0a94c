#pragma once

// `keyledger audit verify`: checks an audit file with nothing but the log's verifier key - no
// database, no server. Two kinds of file (docs/audit.md):
//   - a whole export (`keyledger audit export`): the chain is recomputed from the events' exact
//     bytes, the Merkle tree from their hashes, and every checkpoint's signature and root are
//     checked at its size;
//   - a workspace's events (pages of GET /v1/audit/events, one JSON document per line): each
//     event's hash from its bytes and the hash before it, and its inclusion proof against the
//     page's signed checkpoint; a consistency proof (GET /v1/audit/proofs/consistency) in the
//     same file connects an older checkpoint.
// Given an older checkpoint, it checks that the log only grew since.

#include <iosfwd>
#include <optional>
#include <string>

#include "domain/audit/merkle.hpp"
#include "services/app/audit/checkpoint_key.hpp"

namespace keyledger::services {

struct audit_verification {
  bool ok = false;
  /// ok: one line saying what holds; otherwise the first bad event or checkpoint and why.
  std::string message;
};

struct audit_verify_options {
  /// A checkpoint note the auditor kept from before: the log in the file must extend it.
  std::optional<std::string> older_checkpoint;
};

audit_verification verify_audit_file(std::istream& in, const checkpoint_verifier& verifier,
                                     const domain::audit::merkle_hasher& hasher,
                                     const audit_verify_options& options = {});

}  // namespace keyledger::services

#pragma once

// `keyledger audit export`: the whole log (or the part after --since) as NDJSON with the exact
// stored bytes, the signed checkpoints in place (infra/json/export_codec.hpp, docs/audit.md).

#include <cstdint>
#include <functional>
#include <iosfwd>

#include "domain/types.hpp"
#include "infra/core/audit_store.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::services {

struct log_export_result {
  std::uint64_t events = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t last_seq = 0;
};

/// Writes the events after `since` up to the log's head when the export starts, each checkpoint
/// right after the event of its size, and (last) any checkpoint of a size the stored events no
/// longer reach, for the verifier to report. `progress(done, total)` is called every few
/// thousand events and at the end. Throws infra::error(errc::bad_request) when `since` is past
/// the head or past the tree (the checkpoint signer has not reached it yet); storage errors
/// propagate.
log_export_result export_audit_log(
    infra::event_store& events, infra::audit_store& audit, std::uint64_t since,
    const domain::clock& clock, std::ostream& out,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress);

}  // namespace keyledger::services

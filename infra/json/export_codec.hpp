#pragma once

// One line of an export of the event log (NDJSON, one JSON object per line; `keyledger audit
// export` writes it, `keyledger audit replay` and the offline verifier read it). An event line
// carries the stored row with its exact bytes: payload and metadata as JSON strings holding
// the stored text, the hash in hex:
//
//   {"event":{"global_seq":N,"stream_id":"...","version":N,"event_id":"<uuid>","type":"...",
//             "payload":"<stored payload text>","metadata":"<stored metadata text>",
//             "recorded_at_us":N,"hash":"<64 lowercase hex>"}}
//
// (on one line, members in this order). Lines of other kinds (a header {"format":...}, a
// {"checkpoint":...}) are objects without an "event" member; readers of events skip them.

#include <optional>
#include <string>
#include <string_view>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// What one line of an export is.
struct export_line {
  enum class kind {
    event,      ///< an event line; `event` holds it
    other,      ///< a JSON object without "event" (another kind of line), or a blank line
    malformed,  ///< not one JSON object, or an "event" that breaks the format; see `problem`
  };
  kind what = kind::other;
  recorded_event event;
  /// Why a line is malformed. Names the member, never quotes a value.
  std::string problem;
};

/// Reads one line (without its line break; a trailing '\r' is ignored). Strict for event
/// lines: exactly the members above, each with its type (global_seq and version >= 1, a
/// non-empty stream id and type, a UUID, 64 hex digits for the hash), nothing else beside
/// "event". Never throws.
export_line read_export_line(std::string_view line);

/// The event of an event line; nullopt for any other line, malformed ones included (callers
/// that must tell those apart use read_export_line).
std::optional<recorded_event> parse_export_event_line(std::string_view line);

/// The event line for `e`, without a line break: compact, members in the documented order,
/// strings escaped as RFC 8259 requires, so that read_export_line gives back `e` exactly.
std::string format_export_event_line(const recorded_event& e);

}  // namespace keyledger::infra

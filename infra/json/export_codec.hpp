#pragma once

// The lines of an audit export (NDJSON, docs/audit.md "Export format"): one JSON object per
// line, the first a header, then each event as stored - its payload and metadata as JSON strings
// holding their exact stored bytes - and each signed checkpoint right after the event that
// completes its tree size. The event line's members are written and read in one fixed order, so
// the offline verifier parses it without a general JSON parser (>= 200k events/s).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

inline constexpr std::string_view export_format = "keyledger-audit-export/1";

enum class export_line_kind { header, event, checkpoint, other };

/// What a line is, from its first member's name.
export_line_kind kind_of_export_line(std::string_view line) noexcept;

/// {"event":{"global_seq":N,"stream_id":"…","version":N,"event_id":"8-4-4-4-12 hex",
///  "type":"…","payload":"…","metadata":"…","recorded_at_us":N,"hash":"64 hex"}} (no newline)
std::string format_export_event_line(const recorded_event& e);
/// The event of a line format_export_event_line wrote (members in that order, strings with any
/// RFC 8259 escape); nullopt for anything else.
std::optional<recorded_event> parse_export_event_line(std::string_view line);

/// The first line: where the export starts (after `since` events), the chain hash of event
/// `since` (zeros for 0) and the tree's right edge at `since` (the hashes of
/// domain::audit::frontier_ids(since)), so that a verifier can go on from there; the log's
/// origin and verifier key for reference (an auditor verifies with the key they hold).
struct export_header {
  std::string origin;
  std::string verifier_key;
  std::uint64_t since = 0;
  sha256_digest previous_hash{};
  std::vector<sha256_digest> frontier;
  std::string exported_at;  ///< RFC 3339
};
std::string format_export_header(const export_header& h);
std::optional<export_header> parse_export_header(std::string_view line);

/// {"checkpoint":{"tree_size":N,"note":"…"}}
std::string format_export_checkpoint_line(std::uint64_t tree_size, std::string_view note);
struct export_checkpoint {
  std::uint64_t tree_size = 0;
  std::string note;
};
std::optional<export_checkpoint> parse_export_checkpoint_line(std::string_view line);

/// A hash as every audit line writes it: exactly 64 lowercase hex digits.
std::optional<sha256_digest> parse_hex_digest(std::string_view hex);

/// "8-4-4-4-12" lowercase hex, as PostgreSQL prints a uuid.
std::string format_uuid_text(const uuid& id);
std::optional<uuid> parse_uuid_text(std::string_view text);

}  // namespace keyledger::infra

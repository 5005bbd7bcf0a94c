#pragma once

// What any event_store accepts before it touches storage: the append's arguments, and the
// texts and instants a log row can hold exactly. One set of rules for the Postgres store and the
// in-memory fake, so that both refuse the same input.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

namespace event_log {

/// Valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF) without NUL: exactly
/// what a UTF8 database stores unchanged in a text column.
bool is_storable_text(std::string_view s) noexcept;

/// The instants a timestamptz holds and keyledger stores exactly as microseconds: from
/// 4714-11-24 BC 00:00 UTC up to, excluding, INT64_MAX (294247-01-10T04:00:54.775807Z, which
/// PostgreSQL's extract(epoch) rounds).
constexpr std::int64_t min_timestamp_us = -210866803200000000;
constexpr std::int64_t end_timestamp_us = std::numeric_limits<std::int64_t>::max();

constexpr bool is_storable_timestamp(std::int64_t us) noexcept {
  return us >= min_timestamp_us && us < end_timestamp_us;
}

}  // namespace event_log

/// Checks an append's arguments the way pg_event_store does before any I/O: at least one event;
/// stream id and types non-empty; stream id, types, payloads and metadata valid UTF-8 without
/// NUL (what a UTF8 text column stores unchanged); event ids distinct within the append;
/// recorded_at_us from 4714-11-24 BC (timestamptz's first instant) to below INT64_MAX;
/// versions below 2^63. Returns "" when acceptable, else the reason (never quoting a payload);
/// event_store implementations refuse with errc::bad_request.
std::string validate_append(std::string_view stream_id, std::uint64_t expected_version,
                            std::span<const new_event> events, std::string_view metadata_json,
                            std::int64_t recorded_at_us);

/// Checks append_all's arguments: at least one item, each item as validate_append, and no event
/// id twice in the whole call. Returns "" when acceptable, else the reason (never quoting a
/// payload); event_store implementations refuse with errc::bad_request.
std::string validate_append_all(std::span<const stream_append> items,
                                std::string_view metadata_json, std::int64_t recorded_at_us);

}  // namespace keyledger::infra

#pragma once

// Private to infra/pg: helpers shared by pg_event_store, pg_subscription, pg_telemetry_store,
// pg_idempotency_store and migrations. Nothing outside infra/pg includes this (it pulls in pqxx).

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/event_log/append_rules.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::infra::pg_detail {

/// Opens a connection for the application's work: libpqxx's silent reactivation off (it would
/// lose the session state set here), client encoding UTF8 (text reaches the database
/// unconverted), `SET ROLE keyledger_app` when the login role is a member, and
/// `plan_cache_mode = force_generic_plan`. The caller prepares its statements. Throws pqxx
/// exceptions (callers translate), except that a plain pqxx::failure while the session is set
/// up (the server going away mid-set-up) is infra::error(errc::unavailable).
std::unique_ptr<pqxx::connection> open_app_connection(const std::string& conninfo);

/// open_app_connection() plus the event store's statements (read, head, append). Throws pqxx
/// exceptions (callers translate).
std::unique_ptr<pqxx::connection> open_event_connection(const std::string& conninfo);

/// The columns of an event row, in the order parse_event_row() reads them (a SELECT list over
/// `events`, optionally qualified by a table alias such as "e.").
std::string event_columns_sql(std::string_view alias = "");

/// One event row selected with event_columns_sql(). Throws infra::error(errc::storage) on
/// malformed values.
recorded_event parse_event_row(const pqxx::row& row, pqxx::row::size_type first = 0);
/// The same into `out`, whose strings keep their buffers (a reader of many rows reuses one
/// event and allocates nothing per row once they are big enough).
void parse_event_row_into(const pqxx::row& row, recorded_event& out,
                          pqxx::row::size_type first = 0);

/// Events with global_seq > after_seq, at most `limit`, in global order (prepared statement of
/// open_event_connection).
std::vector<recorded_event> read_all(pqxx::transaction_base& txn, std::uint64_t after_seq,
                                     std::size_t limit);
/// The rows of read_all(), not parsed (parse_event_row / parse_event_row_into).
pqxx::result read_all_rows(pqxx::transaction_base& txn, std::uint64_t after_seq, std::size_t limit);

/// True for failures after which the connection must be dropped and reopened.
bool is_connection_failure(const std::exception& e) noexcept;

/// Translates the exception being handled (call only inside a catch block) into an
/// infra::error and throws it. `operation` names what failed ("append", "read_all"). The detail
/// keeps the SQLSTATE and the first line of the server message only: later lines (DETAIL) and
/// data-exception messages can quote row values, and payloads never go into an error.
[[noreturn]] void rethrow_translated(std::string_view operation);

/// Like rethrow_translated, for a failure on a connection that is closed: infra::error(
/// errc::unavailable) with the first line of the message (libpq's, about the connection).
[[noreturn]] void rethrow_as_unavailable(std::string_view operation);

/// What lazy_connection::run does after a connection failure: call `fn` once more on a new
/// connection (for reads and for writes a repeat cannot harm), or give up (unavailable).
enum class on_broken { retry_once, fail };

/// One lazily opened connection that is dropped after a connection failure. run() calls
/// `fn(connection)` and translates every failure into infra::error; after a broken connection (a
/// connection failure, or any failure that leaves the connection closed) it
/// drops it and, with on_broken::retry_once, reopens and calls `fn` once more. Not thread-safe.
class lazy_connection {
 public:
  using opener = std::unique_ptr<pqxx::connection> (*)(const std::string&);

  lazy_connection(std::string conninfo, opener open)
      : conninfo_(std::move(conninfo)), open_(open) {}

  template <class Fn>
  auto run(std::string_view operation, Fn&& fn, on_broken policy = on_broken::retry_once) {
    for (int attempt = 0;; ++attempt) {
      try {
        if (!conn_) conn_ = open_(conninfo_);
        return fn(*conn_);
      } catch (const error&) {
        throw;
      } catch (const std::exception& e) {
        // A failure on a connection libpq now reports closed is a lost connection whatever its
        // type (a message without SQLSTATE, a usage error on the dead handle): unavailable.
        const bool closed = conn_ != nullptr && !conn_->is_open();
        if (closed || is_connection_failure(e)) {
          conn_.reset();
          if (attempt == 0 && policy == on_broken::retry_once) continue;
        }
        if (closed) rethrow_as_unavailable(operation);
        rethrow_translated(operation);
      }
    }
  }

 private:
  std::string conninfo_;
  opener open_;
  std::unique_ptr<pqxx::connection> conn_;
};

/// PostgreSQL array literal builder: every text element double-quoted with `"` and `\` escaped,
/// so the text arrives byte for byte (callers make sure it holds no NUL: is_storable_text).
class array_literal {
 public:
  void add(std::string_view text);
  void add(std::int64_t value);
  void add(bool value);
  std::string str() const { return out_.empty() ? std::string("{}") : out_ + '}'; }

 private:
  std::string out_;
};

using event_log::end_timestamp_us;
using event_log::is_storable_text;
using event_log::is_storable_timestamp;
using event_log::min_timestamp_us;

/// `us` clamped into [min_timestamp_us, end_timestamp_us): for query bounds that may come from
/// a client (a cursor), which must never make a statement fail.
constexpr std::int64_t clamp_timestamp(std::int64_t us) noexcept {
  return us < min_timestamp_us    ? min_timestamp_us
         : us >= end_timestamp_us ? end_timestamp_us - 1
                                  : us;
}

/// SQL expression turning a bigint of microseconds since the epoch (`expr`, e.g. "$2") into a
/// timestamptz, exact over the whole storable range: whole hours plus microseconds, because
/// interval multiplication goes through float8 and both products stay exact integers below 2^53
/// (3.6e9 = 2^10 * 3515625); an interval with neither days nor months adds the same in every
/// time zone.
std::string timestamptz_from_us_sql(std::string_view expr);

/// Bytes as lowercase hex, for decode($n, 'hex') into a bytea.
std::string hex_of(std::string_view bytes);

/// A uuid as PostgreSQL reads it: 8-4-4-4-12 lowercase hex.
std::string format_uuid(const uuid& id);

/// SQL expression turning a timestamptz column into exact bigint microseconds (extract(epoch) is
/// numeric since PostgreSQL 14).
std::string us_from_timestamptz_sql(std::string_view column);

/// A field's integer value; throws infra::error(errc::storage) if it is not one.
template <class T>
T parse_integer(const pqxx::field& f) {
  T value{};
  const char* begin = f.c_str();
  const char* end = begin + f.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || ptr != end) {
    throw error(errc::storage, "malformed integer from database");
  }
  return value;
}

/// A text field's bytes.
inline std::string field_text(const pqxx::field& f) { return std::string(f.c_str(), f.size()); }

/// Decodes hex (either case) of any even length; false on anything else.
bool decode_hex(std::string_view hex, std::string& out);

}  // namespace keyledger::infra::pg_detail

#include "infra/pg/pg_event_store.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "domain/encoding.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/event_codec.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

// Every append takes this transaction-scoped advisory lock first ("keyledgr" in ASCII), so
// appends are serialised and global_seq = head + 1 is gapless and in commit order.
constexpr std::int64_t append_lock_key = 0x6b65796c65646772;

using pg_detail::array_literal;
using pg_detail::parse_integer;

// Column list shared by the read statements, in the order parse_event() expects. recorded_at
// comes back as exact bigint microseconds (extract(epoch) is numeric since PostgreSQL 14).
constexpr const char* event_columns =
    "global_seq, stream_id, version, event_id, type, payload, metadata, "
    "(extract(epoch FROM recorded_at) * 1000000)::bigint, encode(hash, 'hex')";

// --- names of the prepared statements (one set per connection) ---
constexpr const char* stmt_read_all = "kl_read_all";
constexpr const char* stmt_read_stream = "kl_read_stream";
constexpr const char* stmt_read_streams_until = "kl_read_streams_until";
constexpr const char* stmt_head_seq = "kl_head_seq";
constexpr const char* stmt_append_state = "kl_append_state";
constexpr const char* stmt_append_insert = "kl_append_insert";

// One round trip: open the transaction and wait for the append lock.
const std::string begin_and_lock_sql =
    "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(append_lock_key) + ")";

// Under the lock, one statement reads everything an append batch decides on, as tagged rows:
//   kind 0: the head (last global_seq and its hash), absent when the log is empty;
//   kind 1: each stream's current version (NULL when the stream does not exist);
//   kind 2: each already stored event among the batch's event ids, with its position.
constexpr const char* append_state_sql = R"sql(
SELECT 0 AS kind, h.global_seq, NULL::text, NULL::bigint, NULL::text, encode(h.hash, 'hex')
  FROM (SELECT global_seq, hash FROM events ORDER BY global_seq DESC LIMIT 1) AS h
UNION ALL
SELECT 1, NULL, s.stream_id, (SELECT max(e.version) FROM events e WHERE e.stream_id = s.stream_id),
       NULL, NULL
  FROM unnest($1::text[]) AS s(stream_id)
UNION ALL
SELECT 2, e.global_seq, e.stream_id, e.version, e.event_id::text, NULL
  FROM events e WHERE e.event_id = ANY($2::uuid[])
)sql";

// One INSERT for every row of a batch: the columns travel as parallel arrays. recorded_at is
// built from whole hours plus microseconds because interval multiplication goes through float8:
// both products stay exact integers below 2^53 over the whole timestamptz range (3.6e9 =
// 2^10 * 3515625), and an interval with neither days nor months adds the same in every time zone.
constexpr const char* append_insert_sql = R"sql(
INSERT INTO events (global_seq, stream_id, version, event_id, type, payload, metadata,
                    recorded_at, hash)
SELECT r.global_seq, r.stream_id, r.version, r.event_id, r.type, r.payload, r.metadata,
       'epoch'::timestamptz + (r.recorded_at_us / 3600000000) * interval '1 hour'
                            + (r.recorded_at_us % 3600000000) * interval '1 microsecond',
       decode(r.hash, 'hex')
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[],
              $7::text[], $8::bigint[], $9::text[])
    AS r(global_seq, stream_id, version, event_id, type, payload, metadata, recorded_at_us, hash)
)sql";

// --- small codecs ---

using pg_detail::format_uuid;

// PostgreSQL's uuid output: 8-4-4-4-12 lowercase hex.
uuid parse_uuid(std::string_view text) {
  uuid id{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    const int hi = domain::hex_value(text[i]);
    const int lo = i + 1 < text.size() ? domain::hex_value(text[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n >= id.size())
      throw error(errc::storage, "malformed uuid from database");
    id[n++] = static_cast<std::uint8_t>(hi << 4 | lo);
    ++i;
  }
  if (n != id.size()) throw error(errc::storage, "malformed uuid from database");
  return id;
}

sha256_digest parse_digest(const pqxx::field& f) {
  sha256_digest digest{};
  if (!from_hex(std::string_view(f.c_str(), f.size()), digest)) {
    throw error(errc::storage, "malformed hash from database");
  }
  return digest;
}

void parse_event_into(const pqxx::row& row, recorded_event& e, pqxx::row::size_type f = 0) {
  e.global_seq = parse_integer<std::uint64_t>(row[f + 0]);
  e.stream_id.assign(row[f + 1].c_str(), row[f + 1].size());
  e.version = parse_integer<std::uint64_t>(row[f + 2]);
  e.event_id = parse_uuid(std::string_view(row[f + 3].c_str(), row[f + 3].size()));
  e.type.assign(row[f + 4].c_str(), row[f + 4].size());
  e.payload.assign(row[f + 5].c_str(), row[f + 5].size());
  e.metadata.assign(row[f + 6].c_str(), row[f + 6].size());
  e.recorded_at_us = parse_integer<std::int64_t>(row[f + 7]);
  e.hash = parse_digest(row[f + 8]);
}

recorded_event parse_event(const pqxx::row& row, pqxx::row::size_type f = 0) {
  recorded_event e;
  parse_event_into(row, e, f);
  return e;
}

// The position of a stored (or, within a batch, just assigned) event.
struct position {
  std::uint64_t global_seq = 0;
  std::string stream_id;
  std::uint64_t version = 0;
};

// BEGIN was sent by hand: COMMIT on commit(), ROLLBACK on every other way out (a failed
// statement, a conflict-only batch, an exception while deciding). After a broken connection the
// ROLLBACK fails too and is ignored: the server has rolled back already.
class explicit_transaction {
 public:
  explicit explicit_transaction(pqxx::nontransaction& txn) : txn_(txn) {}
  explicit_transaction(const explicit_transaction&) = delete;
  explicit_transaction& operator=(const explicit_transaction&) = delete;
  ~explicit_transaction() {
    if (open_) {
      try {
        txn_.exec("ROLLBACK");
      } catch (...) {
      }
    }
  }
  void commit() {
    open_ = false;
    txn_.exec("COMMIT");
  }

 private:
  pqxx::nontransaction& txn_;
  bool open_ = true;
};

// Hash map key for a uuid.
struct uuid_hash {
  std::size_t operator()(const uuid& id) const noexcept {
    std::uint64_t a = 0;
    std::memcpy(&a, id.data(), sizeof a);
    std::uint64_t b = 0;
    std::memcpy(&b, id.data() + 8, sizeof b);
    return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
  }
};

}  // namespace

// --- shared helpers (pg_detail.hpp) ---

namespace pg_detail {

std::string event_columns_sql(std::string_view alias) {
  const std::string a(alias);
  return a + "global_seq, " + a + "stream_id, " + a + "version, " + a + "event_id, " + a +
         "type, " + a + "payload, " + a + "metadata, (extract(epoch FROM " + a +
         "recorded_at) * 1000000)::bigint, encode(" + a + "hash, 'hex')";
}

recorded_event parse_event_row(const pqxx::row& row, pqxx::row::size_type first) {
  return parse_event(row, first);
}

void parse_event_row_into(const pqxx::row& row, recorded_event& out, pqxx::row::size_type first) {
  parse_event_into(row, out, first);
}

std::unique_ptr<pqxx::connection> open_event_connection(const std::string& conninfo) {
  auto conn = open_app_connection(conninfo);
  conn->prepare(stmt_read_all,
                std::string("SELECT ") + event_columns +
                    " FROM events WHERE global_seq > $1 ORDER BY global_seq LIMIT $2");
  conn->prepare(stmt_read_stream, std::string("SELECT ") + event_columns +
                                      " FROM events WHERE stream_id = $1 ORDER BY version");
  // The (stream_id, version) index finds the streams' rows; the instant filters them.
  conn->prepare(stmt_read_streams_until,
                std::string("SELECT ") + event_columns +
                    " FROM events WHERE stream_id = ANY($1::text[]) AND recorded_at <= " +
                    pg_detail::timestamptz_from_us_sql("$2::bigint") + " ORDER BY global_seq");
  conn->prepare(
      stmt_head_seq,
      "SELECT coalesce((SELECT global_seq FROM events ORDER BY global_seq DESC LIMIT 1), 0)");
  conn->prepare(stmt_append_state, append_state_sql);
  conn->prepare(stmt_append_insert, append_insert_sql);
  return conn;
}

pqxx::result read_all_rows(pqxx::transaction_base& txn, std::uint64_t after_seq,
                           std::size_t limit) {
  const auto clamped_after = static_cast<std::int64_t>(
      std::min<std::uint64_t>(after_seq, std::numeric_limits<std::int64_t>::max()));
  const auto clamped_limit = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  return txn.exec_prepared(stmt_read_all, clamped_after, clamped_limit);
}

std::vector<recorded_event> read_all(pqxx::transaction_base& txn, std::uint64_t after_seq,
                                     std::size_t limit) {
  const pqxx::result r = read_all_rows(txn, after_seq, limit);
  std::vector<recorded_event> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(parse_event(row));
  return out;
}

}  // namespace pg_detail

// --- pg_event_store ---

namespace {

// How run_batch treats its items: each on its own (append_batch), or all or nothing (append_all).
enum class batch_mode { independent, all_or_nothing };

}  // namespace

struct pg_event_store::impl {
  // Retrying an append after a broken connection is safe: if the first attempt did commit, the
  // retry finds its event ids and returns the same positions (duplicate = true).
  pg_detail::lazy_connection conn;

  explicit impl(std::string conninfo)
      : conn(std::move(conninfo), &pg_detail::open_event_connection) {}

  template <class Fn>
  auto with_connection(std::string_view operation, Fn&& fn) {
    return conn.run(operation, std::forward<Fn>(fn));
  }

  std::vector<batch_outcome> run_batch(pqxx::connection& c, std::span<const batch_item> items,
                                       const std::vector<std::string>& metadata,
                                       std::vector<batch_outcome> outcomes, batch_mode mode);
};

pg_event_store::pg_event_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

pg_event_store::~pg_event_store() = default;

append_result pg_event_store::append(std::string_view stream_id, std::uint64_t expected_version,
                                     const std::vector<new_event>& events,
                                     const event_metadata& metadata, std::int64_t recorded_at_us) {
  const batch_item item{stream_id, expected_version, events, &metadata, recorded_at_us};
  auto outcomes = append_batch(std::span<const batch_item>(&item, 1));
  batch_outcome& o = outcomes.front();
  if (o.error != errc::ok) throw error(o.error, "append to stream: " + o.detail);
  return o.result;
}

std::vector<pg_event_store::batch_outcome> pg_event_store::append_batch(
    std::span<const batch_item> items) {
  // Validate before touching the database: an invalid item is refused on its own.
  std::vector<batch_outcome> outcomes(items.size());
  std::vector<std::string> metadata(items.size());
  bool any_valid = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const batch_item& item = items[i];
    if (item.metadata == nullptr) {
      outcomes[i].error = errc::bad_request;
      outcomes[i].detail = "no metadata";
      continue;
    }
    metadata[i] = encode_metadata(*item.metadata);
    std::string problem = validate_append(item.stream_id, item.expected_version, item.events,
                                          metadata[i], item.recorded_at_us);
    if (!problem.empty()) {
      outcomes[i].error = errc::bad_request;
      outcomes[i].detail = std::move(problem);
      continue;
    }
    any_valid = true;
  }
  if (!any_valid) return outcomes;
  return impl_->with_connection("append", [&](pqxx::connection& c) {
    return impl_->run_batch(c, items, metadata, outcomes, batch_mode::independent);
  });
}

std::vector<append_result> pg_event_store::append_all(std::span<const stream_append> items,
                                                      const event_metadata& metadata,
                                                      std::int64_t recorded_at_us) {
  const std::string metadata_json = encode_metadata(metadata);
  if (std::string problem = validate_append_all(items, metadata_json, recorded_at_us);
      !problem.empty()) {
    throw error(errc::bad_request, "append_all: " + problem);
  }
  std::vector<batch_item> batch;
  batch.reserve(items.size());
  for (const stream_append& item : items) {
    batch.push_back(
        batch_item{item.stream_id, item.expected_version, item.events, &metadata, recorded_at_us});
  }

  const std::vector<std::string> metadata_rows(items.size(), metadata_json);
  const auto outcomes = impl_->with_connection("append_all", [&](pqxx::connection& c) {
    return impl_->run_batch(c, batch, metadata_rows, std::vector<batch_outcome>(items.size()),
                            batch_mode::all_or_nothing);
  });
  std::vector<append_result> results;
  results.reserve(outcomes.size());
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].error != errc::ok) {
      throw error(outcomes[i].error,
                  "append_all: item " + std::to_string(i) + ": " + outcomes[i].detail);
    }
    results.push_back(outcomes[i].result);
  }
  return results;
}

std::vector<pg_event_store::batch_outcome> pg_event_store::impl::run_batch(
    pqxx::connection& c, std::span<const batch_item> items,
    const std::vector<std::string>& metadata, std::vector<batch_outcome> outcomes,
    batch_mode mode) {
  array_literal stream_ids;
  array_literal event_ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (outcomes[i].error != errc::ok) continue;
    stream_ids.add(items[i].stream_id);
    for (const new_event& e : items[i].events) event_ids.add(format_uuid(e.event_id));
  }

  // The transaction is driven by hand (BEGIN ... COMMIT on a nontransaction) so that BEGIN and
  // the lock travel in one round trip; explicit_transaction rolls back on any exit but commit().
  pqxx::nontransaction txn(c);
  explicit_transaction guard(txn);
  // The lock is its own statement: under READ COMMITTED the next statement takes a fresh
  // snapshot, which then includes every append committed before the lock was granted.
  txn.exec(begin_and_lock_sql);
  const pqxx::result state =
      txn.exec_prepared(stmt_append_state, stream_ids.str(), event_ids.str());

  std::uint64_t head_seq = 0;
  sha256_digest head_hash{};
  std::map<std::string, std::uint64_t, std::less<>> versions;
  std::unordered_map<uuid, position, uuid_hash> stored;
  for (const auto& row : state) {
    switch (parse_integer<int>(row[0])) {
      case 0:
        head_seq = parse_integer<std::uint64_t>(row[1]);
        head_hash = parse_digest(row[5]);
        break;
      case 1:
        versions[std::string(row[2].c_str(), row[2].size())] =
            row[3].is_null() ? 0 : parse_integer<std::uint64_t>(row[3]);
        break;
      default: {
        position p;
        p.global_seq = parse_integer<std::uint64_t>(row[1]);
        p.stream_id.assign(row[2].c_str(), row[2].size());
        p.version = parse_integer<std::uint64_t>(row[3]);
        stored.emplace(parse_uuid(std::string_view(row[4].c_str(), row[4].size())), std::move(p));
        break;
      }
    }
  }

  // A retry: where the first attempt put these events (the highest stored one of them on the
  // stream of the first is where that attempt ended).
  const auto stored_result = [&](std::span<const new_event> events) {
    append_result r;
    const position& first = stored.at(events.front().event_id);
    r.duplicate = true;
    r.first_seq = r.last_seq = first.global_seq;
    r.stream_version = first.version;
    for (const new_event& e : events) {
      const auto it = stored.find(e.event_id);
      if (it != stored.end() && it->second.stream_id == first.stream_id &&
          it->second.global_seq > r.last_seq) {
        r.last_seq = it->second.global_seq;
        r.stream_version = it->second.version;
      }
    }
    return r;
  };

  // All or nothing: a retried call (items[0]'s first event id stored) gets the first attempt's
  // positions for items[0] and writes nothing.
  if (mode == batch_mode::all_or_nothing && stored.contains(items[0].events.front().event_id)) {
    outcomes[0].result = stored_result(items[0].events);
    for (std::size_t i = 1; i < outcomes.size(); ++i) outcomes[i].result.duplicate = true;
    return outcomes;
  }

  // Decide each item in order against the state plus the rows assigned so far.
  array_literal col_seq, col_stream, col_version, col_id, col_type, col_payload, col_metadata,
      col_recorded_at, col_hash;
  std::size_t rows = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    batch_outcome& out = outcomes[i];
    if (out.error != errc::ok) continue;
    const batch_item& item = items[i];

    if (stored.contains(item.events.front().event_id)) {
      if (mode == batch_mode::all_or_nothing) {
        // Only items[0] decides whether the whole call is a retry (handled above).
        out.error = errc::conflict;
        out.detail = "the first event id is already stored";
        break;
      }
      out.result = stored_result(item.events);
      continue;
    }
    const bool id_taken = std::any_of(item.events.begin(), item.events.end(),
                                      [&](const auto& e) { return stored.contains(e.event_id); });
    if (id_taken) {
      out.error = errc::conflict;
      out.detail = "an event id (not the first) is already stored";
      if (mode == batch_mode::all_or_nothing) break;
      continue;
    }
    std::uint64_t& version = versions[std::string(item.stream_id)];
    if (version != item.expected_version) {
      out.error = errc::conflict;
      out.detail = "expected version " + std::to_string(item.expected_version) + ", stream is at " +
                   std::to_string(version);
      if (mode == batch_mode::all_or_nothing) break;
      continue;
    }

    out.result.first_seq = head_seq + 1;
    recorded_event row;
    row.stream_id = std::string(item.stream_id);
    row.metadata = metadata[i];
    row.recorded_at_us = item.recorded_at_us;
    for (const new_event& e : item.events) {
      row.global_seq = ++head_seq;
      row.version = ++version;
      row.event_id = e.event_id;
      row.type = e.type;
      row.payload = e.payload;
      row.hash = chain_hash(head_hash, row);
      head_hash = row.hash;
      stored.emplace(e.event_id, position{row.global_seq, row.stream_id, row.version});

      col_seq.add(static_cast<std::int64_t>(row.global_seq));
      col_stream.add(row.stream_id);
      col_version.add(static_cast<std::int64_t>(row.version));
      col_id.add(format_uuid(row.event_id));
      col_type.add(row.type);
      col_payload.add(row.payload);
      col_metadata.add(row.metadata);
      col_recorded_at.add(row.recorded_at_us);
      col_hash.add(to_hex(row.hash));
      ++rows;
    }
    out.result.last_seq = head_seq;
    out.result.stream_version = version;
  }

  // All or nothing: one conflict and nothing is written (the guard rolls back).
  if (mode == batch_mode::all_or_nothing &&
      std::any_of(outcomes.begin(), outcomes.end(),
                  [](const batch_outcome& o) { return o.error != errc::ok; })) {
    return outcomes;
  }
  if (rows > 0) {
    txn.exec_prepared(stmt_append_insert, col_seq.str(), col_stream.str(), col_version.str(),
                      col_id.str(), col_type.str(), col_payload.str(), col_metadata.str(),
                      col_recorded_at.str(), col_hash.str());
    guard.commit();
  }
  return outcomes;
}

std::vector<recorded_event> pg_event_store::read_stream(std::string_view stream_id) {
  if (!event_log::is_storable_text(stream_id)) return {};
  return impl_->with_connection("read_stream", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_read_stream, std::string(stream_id));
    std::vector<recorded_event> out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(parse_event(row));
    return out;
  });
}

std::vector<recorded_event> pg_event_store::read_all(std::uint64_t after_seq, std::size_t limit) {
  if (limit == 0) return {};
  return impl_->with_connection("read_all", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    return pg_detail::read_all(txn, after_seq, limit);
  });
}

std::vector<recorded_event> pg_event_store::read_streams_until(
    std::span<const std::string> stream_ids, std::int64_t until_us) {
  // Nothing is stored before the first storable instant; past the last one, everything counts.
  if (until_us < pg_detail::min_timestamp_us) return {};
  const std::int64_t until = pg_detail::clamp_timestamp(until_us);
  std::set<std::string_view> unique;
  for (const std::string& id : stream_ids) {
    // A stream id the store could never hold has no events (and must not reach a statement).
    if (event_log::is_storable_text(id) && !id.empty()) unique.insert(id);
  }
  if (unique.empty()) return {};
  // The ids travel as one array parameter; a huge workspace is read in a few statements so that
  // no single parameter grows without bound.
  constexpr std::size_t ids_per_statement = 1000;
  return impl_->with_connection("read_streams_until", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    std::vector<recorded_event> out;
    auto it = unique.begin();
    while (it != unique.end()) {
      array_literal ids;
      for (std::size_t n = 0; n < ids_per_statement && it != unique.end(); ++n, ++it) ids.add(*it);
      const pqxx::result r = txn.exec_prepared(stmt_read_streams_until, ids.str(), until);
      for (const auto& row : r) out.push_back(parse_event(row));
    }
    // Each statement answers in global order; several are merged (their streams are disjoint).
    if (unique.size() > ids_per_statement) {
      std::sort(out.begin(), out.end(), [](const recorded_event& a, const recorded_event& b) {
        return a.global_seq < b.global_seq;
      });
    }
    return out;
  });
}

std::uint64_t pg_event_store::head_seq() {
  return impl_->with_connection("head_seq", [&](pqxx::connection& c) {
    pqxx::nontransaction txn(c);
    const pqxx::result r = txn.exec_prepared(stmt_head_seq);
    return parse_integer<std::uint64_t>(r.at(0).at(0));
  });
}

void pg_event_store::ping() {
  try {
    impl_->with_connection("ping", [&](pqxx::connection& c) {
      pqxx::nontransaction txn(c);
      txn.exec("SELECT 1");
      return 0;
    });
  } catch (const error& e) {
    throw error(errc::unavailable, e.what());
  }
}

}  // namespace keyledger::infra

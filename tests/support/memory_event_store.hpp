#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::test_support {

/// In-memory fake of infra::event_store with pg_event_store's semantics: the same argument
/// checks (infra::validate_append -> errc::bad_request), optimistic concurrency per stream
/// (errc::conflict, nothing written), idempotent event ids (duplicate = true, stored positions),
/// a gapless global sequence from 1, metadata encoded by infra::encode_metadata and the hash
/// chain of infra::chain_hash, so infra::verify_chain passes over it.
///
/// Unlike the real store one instance may be shared by threads (every member locks), which
/// suits tests that stand in one fake for the shared database.
class memory_event_store final : public infra::event_store {
 public:
  infra::append_result append(std::string_view stream_id, std::uint64_t expected_version,
                              const std::vector<infra::new_event>& events,
                              const infra::event_metadata& metadata,
                              std::int64_t recorded_at_us) override;
  std::vector<infra::append_result> append_all(std::span<const infra::stream_append> items,
                                               const infra::event_metadata& metadata,
                                               std::int64_t recorded_at_us) override;
  std::vector<infra::recorded_event> read_stream(std::string_view stream_id) override;
  std::vector<infra::recorded_event> read_all(std::uint64_t after_seq, std::size_t limit) override;
  std::vector<infra::recorded_event> read_streams_until(std::span<const std::string> stream_ids,
                                                        std::int64_t until_us) override;
  std::uint64_t head_seq() override;

  /// Makes the next append() or append_all() throw infra::error(code) and write nothing (e.g.
  /// unavailable).
  void fail_next_append(infra::errc code);

  /// Every stored event in global order (a copy).
  std::vector<infra::recorded_event> events() const;

  /// Number of append() and append_all() calls that wrote events (not duplicates, conflicts or
  /// failures).
  std::size_t appends() const;

 private:
  // Under mutex_: the stored positions of a retry whose first event id is stored.
  infra::append_result stored_result(std::span<const infra::new_event> events) const;
  // Under mutex_: the stream's current version.
  std::uint64_t version_of(std::string_view stream_id) const;
  // Under mutex_: appends without checks.
  infra::append_result write(std::string_view stream_id, std::span<const infra::new_event> events,
                             const std::string& metadata_json, std::int64_t recorded_at_us);

  mutable std::mutex mutex_;
  std::vector<infra::recorded_event> log_;                                // index = global_seq - 1
  std::map<std::string, std::vector<std::size_t>, std::less<>> streams_;  // indexes into log_
  std::map<infra::uuid, std::size_t> ids_;  // event id -> index into log_
  std::optional<infra::errc> fail_next_;
  std::size_t appends_ = 0;
};

}  // namespace keyledger::test_support

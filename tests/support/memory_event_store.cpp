#include "tests/support/memory_event_store.hpp"

#include <algorithm>
#include <set>
#include <span>
#include <string>
#include <utility>

#include "infra/json/event_codec.hpp"
#include "infra/core/event_log/append_rules.hpp"
#include "infra/core/event_log/chain.hpp"

namespace keyledger::test_support {

using infra::errc;
using infra::error;

infra::append_result memory_event_store::append(std::string_view stream_id,
                                                std::uint64_t expected_version,
                                                const std::vector<infra::new_event>& events,
                                                const infra::event_metadata& metadata,
                                                std::int64_t recorded_at_us) {
  const std::string metadata_json = infra::encode_metadata(metadata);
  if (std::string problem = infra::validate_append(stream_id, expected_version, events,
                                                   metadata_json, recorded_at_us);
      !problem.empty()) {
    throw error(errc::bad_request, "append to stream: " + problem);
  }

  std::lock_guard lock(mutex_);
  if (fail_next_) {
    const errc code = *std::exchange(fail_next_, std::nullopt);
    throw error(code, "memory_event_store: injected failure");
  }

  // Same order of checks as pg_event_store: a retry first, then event ids, then the version.
  if (ids_.contains(events.front().event_id)) return stored_result(events);
  for (const auto& e : events) {
    if (ids_.contains(e.event_id)) {
      throw error(errc::conflict,
                  "append to stream: an event id (not the first) is already stored");
    }
  }
  const std::uint64_t version = version_of(stream_id);
  if (version != expected_version) {
    throw error(errc::conflict, "append to stream: expected version " +
                                    std::to_string(expected_version) + ", stream is at " +
                                    std::to_string(version));
  }
  ++appends_;
  return write(stream_id, events, metadata_json, recorded_at_us);
}

std::vector<infra::append_result> memory_event_store::append_all(
    std::span<const infra::stream_append> items, const infra::event_metadata& metadata,
    std::int64_t recorded_at_us) {
  const std::string metadata_json = infra::encode_metadata(metadata);
  if (std::string problem = infra::validate_append_all(items, metadata_json, recorded_at_us);
      !problem.empty()) {
    throw error(errc::bad_request, "append_all: " + problem);
  }

  std::lock_guard lock(mutex_);
  if (fail_next_) {
    const errc code = *std::exchange(fail_next_, std::nullopt);
    throw error(code, "memory_event_store: injected failure");
  }

  std::vector<infra::append_result> results(items.size());
  // A retry of the whole call: the first attempt's positions for items[0], nothing written.
  if (ids_.contains(items[0].events.front().event_id)) {
    results[0] = stored_result(items[0].events);
    for (std::size_t i = 1; i < results.size(); ++i) results[i].duplicate = true;
    return results;
  }
  // Decide every item in order before writing any (a stream may appear twice: the second
  // expects the version after the first), then write them all.
  std::map<std::string, std::uint64_t, std::less<>> versions;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const infra::stream_append& item = items[i];
    for (const auto& e : item.events) {
      if (ids_.contains(e.event_id)) {
        throw error(errc::conflict,
                    "append_all: item " + std::to_string(i) + ": an event id is already stored");
      }
    }
    auto it = versions.find(item.stream_id);
    if (it == versions.end()) {
      it = versions.emplace(std::string(item.stream_id), version_of(item.stream_id)).first;
    }
    if (it->second != item.expected_version) {
      throw error(errc::conflict, "append_all: item " + std::to_string(i) + ": expected version " +
                                      std::to_string(item.expected_version) + ", stream is at " +
                                      std::to_string(it->second));
    }
    it->second += item.events.size();
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    results[i] = write(items[i].stream_id, items[i].events, metadata_json, recorded_at_us);
  }
  ++appends_;
  return results;
}

infra::append_result memory_event_store::stored_result(
    std::span<const infra::new_event> events) const {
  const infra::recorded_event& stored = log_[ids_.at(events.front().event_id)];
  infra::append_result r;
  r.duplicate = true;
  r.first_seq = r.last_seq = stored.global_seq;
  r.stream_version = stored.version;
  for (const auto& e : events) {
    const auto it = ids_.find(e.event_id);
    if (it == ids_.end()) continue;
    const infra::recorded_event& other = log_[it->second];
    if (other.stream_id == stored.stream_id && other.global_seq > r.last_seq) {
      r.last_seq = other.global_seq;
      r.stream_version = other.version;
    }
  }
  return r;
}

std::uint64_t memory_event_store::version_of(std::string_view stream_id) const {
  const auto stream = streams_.find(stream_id);
  return stream == streams_.end() ? 0 : stream->second.size();
}

infra::append_result memory_event_store::write(std::string_view stream_id,
                                               std::span<const infra::new_event> events,
                                               const std::string& metadata_json,
                                               std::int64_t recorded_at_us) {
  auto& indexes = streams_[std::string(stream_id)];
  infra::append_result r;
  r.first_seq = log_.size() + 1;
  for (const auto& e : events) {
    infra::recorded_event row;
    row.global_seq = log_.size() + 1;
    row.stream_id = std::string(stream_id);
    row.version = indexes.size() + 1;
    row.event_id = e.event_id;
    row.type = e.type;
    row.payload = e.payload;
    row.metadata = metadata_json;
    row.recorded_at_us = recorded_at_us;
    row.hash = infra::chain_hash(log_.empty() ? infra::sha256_digest{} : log_.back().hash, row);
    ids_.emplace(row.event_id, log_.size());
    indexes.push_back(log_.size());
    log_.push_back(std::move(row));
  }
  r.last_seq = log_.size();
  r.stream_version = indexes.size();
  return r;
}

std::vector<infra::recorded_event> memory_event_store::read_stream(std::string_view stream_id) {
  std::lock_guard lock(mutex_);
  std::vector<infra::recorded_event> out;
  if (const auto it = streams_.find(stream_id); it != streams_.end()) {
    out.reserve(it->second.size());
    for (const std::size_t i : it->second) out.push_back(log_[i]);
  }
  return out;
}

std::vector<infra::recorded_event> memory_event_store::read_all(std::uint64_t after_seq,
                                                                std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<infra::recorded_event> out;
  if (after_seq >= log_.size()) return out;
  const std::size_t begin = static_cast<std::size_t>(after_seq);
  const std::size_t end = begin + std::min(limit, log_.size() - begin);
  out.assign(log_.begin() + static_cast<std::ptrdiff_t>(begin),
             log_.begin() + static_cast<std::ptrdiff_t>(end));
  return out;
}

std::vector<infra::recorded_event> memory_event_store::read_streams_until(
    std::span<const std::string> stream_ids, std::int64_t until_us) {
  std::lock_guard lock(mutex_);
  std::vector<std::size_t> indexes;
  std::set<std::string_view> seen;
  for (const std::string& id : stream_ids) {
    if (!seen.insert(id).second) continue;
    if (const auto it = streams_.find(id); it != streams_.end()) {
      for (const std::size_t i : it->second) {
        if (log_[i].recorded_at_us <= until_us) indexes.push_back(i);
      }
    }
  }
  // Indexes into log_ are global positions - 1: sorting them is global order.
  std::sort(indexes.begin(), indexes.end());
  std::vector<infra::recorded_event> out;
  out.reserve(indexes.size());
  for (const std::size_t i : indexes) out.push_back(log_[i]);
  return out;
}

std::uint64_t memory_event_store::head_seq() {
  std::lock_guard lock(mutex_);
  return log_.size();
}

void memory_event_store::fail_next_append(errc code) {
  std::lock_guard lock(mutex_);
  fail_next_ = code;
}

std::vector<infra::recorded_event> memory_event_store::events() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::size_t memory_event_store::appends() const {
  std::lock_guard lock(mutex_);
  return appends_;
}

}  // namespace keyledger::test_support

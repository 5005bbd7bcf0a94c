#include "tests/support/memory_webhook_store.hpp"

#include <algorithm>

#include "infra/core/error.hpp"

namespace keyledger::test_support {
namespace {

/// As schema/008: "whe_" or "key_" and 22 base62.
bool valid_owner(std::string_view owner) {
  return owner.size() == 26 && (owner.starts_with("whe_") || owner.starts_with("key_"));
}

}  // namespace

void memory_webhook_store::put_secret(std::string_view owner_id, std::uint32_t version,
                                      std::string_view sealed) {
  if (!valid_owner(owner_id) || version == 0 || sealed.empty()) {
    throw infra::error(infra::errc::bad_request,
                       "webhook secret put: owner malformed, version 0 or no bytes");
  }
  std::lock_guard lock(mutex_);
  const auto [it, inserted] =
      secrets_.try_emplace({std::string(owner_id), version}, std::string(sealed));
  if (!inserted && it->second != sealed) {
    throw infra::error(infra::errc::conflict, "webhook secret put: another secret is stored");
  }
  if (inserted) secret_times_[it->first] = static_cast<std::int64_t>(++secret_clock_);
}

std::optional<std::string> memory_webhook_store::get_secret(std::string_view owner_id,
                                                            std::uint32_t version) {
  std::lock_guard lock(mutex_);
  const auto it = secrets_.find({std::string(owner_id), version});
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}

std::vector<infra::secret_version> memory_webhook_store::secret_versions(
    std::string_view owner_id) {
  std::lock_guard lock(mutex_);
  std::vector<infra::secret_version> out;
  for (const auto& [k, sealed] : secrets_) {
    if (k.first == owner_id) out.push_back({k.second, secret_times_.at(k)});
  }
  std::reverse(out.begin(), out.end());  // the map is ordered by version: newest first
  return out;
}

std::size_t memory_webhook_store::enqueue_through(std::span<const infra::new_delivery> deliveries,
                                                  std::string_view consumer,
                                                  std::uint64_t through_seq) {
  const auto added = enqueue(deliveries);
  std::lock_guard lock(mutex_);
  auto& seq = checkpoints_[std::string(consumer)];
  seq = std::max(seq, through_seq);
  return added;
}

std::uint64_t memory_webhook_store::checkpoint(std::string_view consumer) {
  std::lock_guard lock(mutex_);
  const auto it = checkpoints_.find(consumer);
  return it == checkpoints_.end() ? 0 : it->second;
}

std::size_t memory_webhook_store::enqueue(std::span<const infra::new_delivery> deliveries) {
  std::lock_guard lock(mutex_);
  std::size_t added = 0;
  for (const auto& d : deliveries) {
    // ON CONFLICT DO NOTHING: the message id and (event, endpoint) are both unique.
    if (rows_.contains(d.message_id) || event_endpoints_.contains({d.event_id, d.endpoint_id})) {
      continue;
    }
    row r;
    r.delivery = d;
    r.next_attempt_us = d.due_us;
    r.created_us = d.due_us;
    event_endpoints_.insert({d.event_id, d.endpoint_id});
    rows_.emplace(d.message_id, std::move(r));
    ++added;
  }
  return added;
}

std::vector<infra::claimed_delivery> memory_webhook_store::claim(std::size_t limit,
                                                                 std::int64_t now_us,
                                                                 std::int64_t lease_until_us) {
  std::lock_guard lock(mutex_);
  std::vector<row*> due;
  for (auto& [id, r] : rows_) {
    if (r.status == "pending" && r.next_attempt_us <= now_us &&
        (!r.lease_until_us || *r.lease_until_us <= now_us)) {
      due.push_back(&r);
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const row* a, const row* b) {
    return a->next_attempt_us < b->next_attempt_us;
  });
  if (due.size() > limit) due.resize(limit);
  std::vector<infra::claimed_delivery> out;
  for (row* r : due) {
    r->lease_until_us = lease_until_us;
    r->claim = "claim-" + std::to_string(++next_claim_);
    const auto& d = r->delivery;
    infra::claimed_delivery c;
    c.message_id = d.message_id;
    c.endpoint_id = d.endpoint_id;
    c.workspace_id = d.workspace_id;
    c.event_type = d.event_type;
    c.event_seq = d.event_seq;
    c.payload = d.payload;
    c.attempts = r->attempts;
    c.claim = r->claim;
    out.push_back(std::move(c));
  }
  return out;
}

bool memory_webhook_store::record(const infra::attempt_result& result,
                                  std::optional<std::int64_t>& failing_since_us) {
  std::lock_guard lock(mutex_);
  const auto it = rows_.find(result.message_id);
  if (it == rows_.end() || it->second.claim.empty() || it->second.claim != result.claim ||
      it->second.status != "pending") {
    return false;
  }
  auto& r = it->second;
  const bool delivered = result.outcome == infra::attempt_outcome::delivered;
  r.attempts += 1;
  r.attempt_log.push_back({r.attempts, result.started_us, result.latency_ms, result.response_status,
                           std::string(infra::to_string(result.outcome)),
                           result.error.substr(0, 300)});
  if (delivered) {
    r.status = "delivered";
  } else if (result.next_attempt_us) {
    r.status = "pending";
    r.next_attempt_us = *result.next_attempt_us;
  } else {
    r.status = "failed";
  }
  r.lease_until_us.reset();
  r.claim.clear();
  const std::int64_t ended_us = result.started_us + std::int64_t{result.latency_ms} * 1000;
  auto& h = health_[result.endpoint_id];
  if (delivered) {
    h.failing_since_us.reset();
  } else if (!h.failing_since_us) {
    h.failing_since_us = ended_us;
  }
  failing_since_us = h.failing_since_us;
  return true;
}

void memory_webhook_store::drop(std::string_view message_id, std::string_view claim) {
  std::lock_guard lock(mutex_);
  const auto it = rows_.find(message_id);
  if (it == rows_.end() || it->second.claim.empty() || it->second.claim != claim) return;
  it->second.status = "dropped";
  it->second.lease_until_us.reset();
  it->second.claim.clear();
}

std::vector<infra::delivery_summary> memory_webhook_store::deliveries(
    std::string_view endpoint_id, std::size_t limit, std::optional<std::uint64_t> before_seq) {
  std::lock_guard lock(mutex_);
  std::vector<const row*> page;
  for (const auto& [id, r] : rows_) {
    if (r.delivery.endpoint_id != endpoint_id) continue;
    if (before_seq && r.delivery.event_seq >= *before_seq) continue;
    page.push_back(&r);
  }
  // Newest first; rows_ iterates by message id, which breaks ties as the SQL does.
  std::stable_sort(page.begin(), page.end(), [](const row* a, const row* b) {
    return a->delivery.event_seq > b->delivery.event_seq;
  });
  if (page.size() > limit) page.resize(limit);
  std::vector<infra::delivery_summary> out;
  for (const row* r : page) {
    const auto& d = r->delivery;
    out.push_back({d.message_id, d.endpoint_id, d.event_type, d.event_seq, r->status, r->attempts,
                   r->created_us, r->next_attempt_us, r->attempt_log});
  }
  return out;
}

bool memory_webhook_store::retry_now(std::string_view endpoint_id, std::string_view message_id,
                                     std::int64_t now_us) {
  std::lock_guard lock(mutex_);
  const auto it = rows_.find(message_id);
  if (it == rows_.end() || it->second.delivery.endpoint_id != endpoint_id) return false;
  auto& r = it->second;
  r.status = "pending";
  r.next_attempt_us = now_us;
  r.lease_until_us.reset();
  r.claim.clear();
  return true;
}

void memory_webhook_store::reset_health(std::string_view endpoint_id) {
  std::lock_guard lock(mutex_);
  ++resets_;
  if (const auto it = health_.find(endpoint_id); it != health_.end()) health_.erase(it);
}

std::map<std::pair<std::string, std::uint32_t>, std::string> memory_webhook_store::secrets() const {
  std::lock_guard lock(mutex_);
  return secrets_;
}

std::optional<std::int64_t> memory_webhook_store::failing_since(
    std::string_view endpoint_id) const {
  std::lock_guard lock(mutex_);
  const auto it = health_.find(endpoint_id);
  if (it == health_.end()) return std::nullopt;
  return it->second.failing_since_us;
}

bool memory_webhook_store::has_health(std::string_view endpoint_id) const {
  std::lock_guard lock(mutex_);
  return health_.find(endpoint_id) != health_.end();
}

std::size_t memory_webhook_store::resets() const {
  std::lock_guard lock(mutex_);
  return resets_;
}

}  // namespace keyledger::test_support

#include "infra/pg/group_commit.hpp"

#include <algorithm>
#include <exception>
#include <string>

#include "infra/core/error.hpp"

namespace keyledger::infra {

struct append_group::waiter {
  pg_event_store::batch_item item;
  pg_event_store::batch_outcome outcome;
  std::exception_ptr failure;
  bool done = false;
};

append_group::append_group(std::size_t max_batch)
    : max_batch_(std::max<std::size_t>(1, max_batch)) {}

append_result append_group::append(pg_event_store& own, std::string_view stream_id,
                                   std::uint64_t expected_version,
                                   const std::vector<new_event>& events,
                                   const event_metadata& metadata, std::int64_t recorded_at_us) {
  waiter w{{stream_id, expected_version, events, &metadata, recorded_at_us}, {}, nullptr, false};
  {
    std::unique_lock lock(mutex_);
    queue_.push_back(&w);
    while (!w.done) {
      if (!leading_) {
        lead(own, lock);
      } else {
        done_.wait(lock);
      }
    }
  }
  if (w.failure) std::rethrow_exception(w.failure);
  if (w.outcome.error != errc::ok) {
    throw error(w.outcome.error, "append to stream: " + w.outcome.detail);
  }
  return w.outcome.result;
}

void append_group::lead(pg_event_store& own, std::unique_lock<std::mutex>& lock) {
  const std::size_t n = std::min(max_batch_, queue_.size());
  std::vector<waiter*> batch(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  leading_ = true;
  lock.unlock();

  std::vector<pg_event_store::batch_outcome> outcomes;
  std::exception_ptr failure;
  try {
    std::vector<pg_event_store::batch_item> items;
    items.reserve(batch.size());
    for (const waiter* w : batch) items.push_back(w->item);
    outcomes = own.append_batch(items);
    if (outcomes.size() != batch.size()) throw error(errc::internal, "append_batch: outcome count");
  } catch (...) {
    failure = std::current_exception();
  }

  lock.lock();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (failure) {
      batch[i]->failure = failure;
    } else {
      batch[i]->outcome = std::move(outcomes[i]);
    }
    batch[i]->done = true;
  }
  ++batches_;
  appends_ += batch.size();
  leading_ = false;
  // The appends of this batch return; one of those still queued leads the next.
  done_.notify_all();
}

std::uint64_t append_group::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

std::uint64_t append_group::appends() const {
  std::lock_guard lock(mutex_);
  return appends_;
}

}  // namespace keyledger::infra

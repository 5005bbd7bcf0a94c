#include "services/app/webhooks/webhook_dispatcher.hpp"

#include <exception>
#include <utility>
#include <vector>

#include "infra/core/log.hpp"

namespace keyledger::services {
namespace {

using namespace std::chrono_literals;

}  // namespace

webhook_dispatcher::webhook_dispatcher(postback_sources sources,
                                       std::unique_ptr<infra::webhook_store> store,
                                       dispatcher_options options,
                                       std::function<void()> on_enqueued)
    : sources_(sources),
      store_(std::move(store)),
      options_(options),
      on_enqueued_(std::move(on_enqueued)) {}

webhook_dispatcher::~webhook_dispatcher() { stop(); }

void webhook_dispatcher::start(std::uint64_t head_seq) {
  start_checkpoint_ = store_->checkpoint(consumer_name);
  const bool first = start_checkpoint_ == 0;
  if (first) {
    // Saved at once: a crash before the first write must not move the start further on.
    start_checkpoint_ = head_seq;
    store_->enqueue_through({}, consumer_name, head_seq);
  }
  {
    std::lock_guard lock(mutex_);
    applied_seq_ = start_checkpoint_;
    written_seq_ = start_checkpoint_;
  }
  infra::log(infra::log_level::info, "webhook_dispatcher_started",
             {{"checkpoint", std::to_string(start_checkpoint_)},
              {"first_start", first ? "true" : "false"}});
  writer_ = std::thread([this] { run(); });
}

void webhook_dispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  changed_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void webhook_dispatcher::apply(const infra::recorded_event& e) {
  if (e.global_seq <= start_checkpoint_) return;
  auto deliveries = derive_postbacks(e, sources_);
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return stopping_ || queue_.empty() || queue_.size() + deliveries.size() <= options_.queue_limit;
  });
  for (auto& d : deliveries) queue_.push_back(std::move(d));
  applied_seq_ = e.global_seq;
  changed_.notify_all();
}

bool webhook_dispatcher::wait_written(std::uint64_t seq,
                                      std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline, [&] { return written_seq_ >= seq; });
}

bool webhook_dispatcher::write_some(std::unique_lock<std::mutex>& lock) {
  if (queue_.empty() && applied_seq_ == written_seq_) return false;
  const std::size_t n = std::min(queue_.size(), options_.batch_limit);
  std::vector<infra::new_delivery> batch(std::make_move_iterator(queue_.begin()),
                                         std::make_move_iterator(queue_.begin() + n));
  // The log is fully turned into deliveries up to just before the first one left behind (its
  // event's other deliveries may be among those left).
  const std::uint64_t through = n == queue_.size() ? applied_seq_ : queue_[n].event_seq - 1;
  lock.unlock();
  std::size_t added = 0;
  try {
    added = store_->enqueue_through(batch, consumer_name, through);
  } catch (const std::exception& ex) {
    infra::log(infra::log_level::warn, "webhook_enqueue_failed", {{"error", ex.what()}});
    lock.lock();
    // Kept in the queue (nothing was committed); tried again after a pause.
    changed_.wait_for(lock, 1s, [&] { return stopping_; });
    return !stopping_;
  }
  if (added > 0 && on_enqueued_) on_enqueued_();  // the senders look at once
  lock.lock();
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  if (through > written_seq_) written_seq_ = through;
  changed_.notify_all();
  return true;
}

void webhook_dispatcher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock,
                  [&] { return stopping_ || !queue_.empty() || applied_seq_ != written_seq_; });
    if (stopping_) break;
    // Only the checkpoint to move (events that make no postback): once per quarter second,
    // not once per event.
    if (queue_.empty()) {
      changed_.wait_for(lock, 250ms, [&] { return stopping_ || !queue_.empty(); });
    }
    write_some(lock);
  }
  // What is queued is written once more on the way out; a failure here is made good by the
  // next start, which derives again from the saved checkpoint.
  while (write_some(lock) && !queue_.empty()) {
  }
}

}  // namespace keyledger::services

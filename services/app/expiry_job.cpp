#include "services/app/expiry_job.hpp"

#include <exception>
#include <string>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/key_service.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {

namespace {

const domain::clock& system_clock() {
  static const infra::system_clock clock;
  return clock;
}

}  // namespace

expiry_job::expiry_job(const active_key_view& view, const key_service& keys,
                       std::function<std::unique_ptr<infra::event_store>()> store_factory,
                       options opts)
    : view_(view), keys_(keys), store_factory_(std::move(store_factory)), options_(opts) {
  if (!options_.clock) options_.clock = &system_clock();
  if (options_.batch == 0) options_.batch = 1;
  if (options_.interval.count() <= 0) options_.interval = std::chrono::milliseconds(1);
}

expiry_job::~expiry_job() { stop(); }

std::size_t expiry_job::run_once(infra::event_store& store) {
  std::size_t appended = 0;
  for (const auto& key_id : view_.expiry_due(options_.clock->now(), options_.batch)) {
    try {
      appended += keys_.record_expiry(store, key_id);
    } catch (const infra::error& e) {
      // Another node got there first: its event stands and ours is not needed.
      if (e.code() == infra::errc::conflict) continue;
      store_failed_.store(true, std::memory_order_relaxed);
      infra::log(infra::log_level::warn, "expiry_record_failed",
                 {{"key_id", key_id}, {"detail", e.what()}});
    } catch (const std::exception& e) {
      store_failed_.store(true, std::memory_order_relaxed);
      infra::log(infra::log_level::warn, "expiry_record_failed",
                 {{"key_id", key_id}, {"detail", e.what()}});
    }
  }
  return appended;
}

void expiry_job::start() {
  std::lock_guard lock(mutex_);
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_ptr<infra::event_store> store;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        if (!store) store = store_factory_();
        store_failed_.store(false, std::memory_order_relaxed);
        if (store) run_once(*store);
        if (store_failed_.load(std::memory_order_relaxed)) store.reset();
      } catch (const std::exception& e) {
        // The store could not be opened, or the view could not be read: try again next time.
        infra::log(infra::log_level::warn, "expiry_pass_failed", {{"detail", e.what()}});
        store.reset();
      }
      lock.lock();
      wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
  });
}

void expiry_job::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

}  // namespace keyledger::services

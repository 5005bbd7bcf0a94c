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
    : view_(view),
      keys_(keys),
      store_factory_(std::move(store_factory)),
      options_(opts),
      worker_("expiry_pass", {opts.interval, true}, [this] { pass(); }) {
  if (!options_.clock) options_.clock = &system_clock();
  if (options_.batch == 0) options_.batch = 1;
}

void expiry_job::pass() {
  try {
    if (!store_) store_ = store_factory_();
    store_failed_.store(false, std::memory_order_relaxed);
    if (store_) run_once(*store_);
    if (store_failed_.load(std::memory_order_relaxed)) store_.reset();
  } catch (...) {
    // The store could not be opened, or the view could not be read: try again next time (the
    // worker logs expiry_pass_failed).
    store_.reset();
    throw;
  }
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

void expiry_job::start() { worker_.start(); }

void expiry_job::stop() { worker_.stop(); }

}  // namespace keyledger::services

#include "services/app/usage_recorder.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"

namespace keyledger::services {

namespace {

// The internal detail of the exception being handled (for the log).
std::string current_detail() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

usage_recorder::usage_recorder(
    std::function<std::unique_ptr<infra::telemetry_store>()> store_factory, options opts)
    : store_factory_(std::move(store_factory)), options_(opts) {
  options_.max_buffered = std::max<std::size_t>(options_.max_buffered, 1);
  if (options_.interval.count() <= 0) options_.interval = std::chrono::milliseconds(1);
}

usage_recorder::~usage_recorder() { stop(); }

std::size_t usage_recorder::held_locked() const noexcept {
  return buffer_.size() + retry_.size() + in_flight_;
}

bool usage_recorder::crossed_threshold_locked() const noexcept {
  return held_locked() == std::max<std::size_t>(options_.max_buffered / 2, 1);
}

void usage_recorder::merge_failure(failure_map& into, const infra::auth_failure_count& f) {
  auto it = into.find(std::tie(f.workspace_id, f.source_ip, f.code));
  if (it == into.end()) {
    into.emplace(std::make_tuple(f.workspace_id, f.source_ip, f.code), f);
    return;
  }
  auto& row = it->second;
  row.count += f.count;
  row.first_at_us = std::min(row.first_at_us, f.first_at_us);
  row.last_at_us = std::max(row.last_at_us, f.last_at_us);
}

void usage_recorder::record_use(infra::key_use use) noexcept {
  bool wake = false;
  try {
    std::lock_guard lock(mutex_);
    if (held_locked() >= options_.max_buffered) {
      ++dropped_;
      return;
    }
    buffer_.uses.push_back(std::move(use));
    wake = crossed_threshold_locked();
    if (wake) flush_requested_ = true;
  } catch (...) {
    // Out of memory: the record is lost, like any other that does not fit.
    try {
      std::lock_guard lock(mutex_);
      ++dropped_;
    } catch (...) {
    }
  }
  if (wake) wake_.notify_one();
}

void usage_recorder::record_failure(std::string_view workspace_id, std::string_view ip,
                                    std::string_view code, std::int64_t at_us) noexcept {
  bool wake = false;
  try {
    std::lock_guard lock(mutex_);
    auto& rows = buffer_.failures;
    if (auto it = rows.find(std::make_tuple(workspace_id, ip, code)); it != rows.end()) {
      // A repeated failure (a scanner, a broken client) only bumps its row: no new memory.
      auto& row = it->second;
      ++row.count;
      row.first_at_us = std::min(row.first_at_us, at_us);
      row.last_at_us = std::max(row.last_at_us, at_us);
      return;
    }
    if (held_locked() >= options_.max_buffered) {
      ++dropped_;
      return;
    }
    infra::auth_failure_count row{
        std::string(workspace_id), std::string(ip), std::string(code), 1, at_us, at_us};
    rows.emplace(std::make_tuple(row.workspace_id, row.source_ip, row.code), std::move(row));
    wake = crossed_threshold_locked();
    if (wake) flush_requested_ = true;
  } catch (...) {
    try {
      std::lock_guard lock(mutex_);
      ++dropped_;
    } catch (...) {
    }
  }
  if (wake) wake_.notify_one();
}

void usage_recorder::flush(infra::telemetry_store& store) {
  std::lock_guard flush_lock(flush_mutex_);
  batch fresh;
  batch old;
  {
    std::lock_guard lock(mutex_);
    fresh = std::exchange(buffer_, batch{});
    old = std::exchange(retry_, batch{});
    in_flight_ = fresh.size() + old.size();
  }
  if (fresh.size() + old.size() == 0) return;

  // One write for both: the batch kept from a failed try goes first (older), then the new one.
  // Failure rows are merged, so a (workspace, ip, code) appears once per write.
  std::vector<infra::key_use> uses;
  uses.reserve(old.uses.size() + fresh.uses.size());
  uses.insert(uses.end(), std::make_move_iterator(old.uses.begin()),
              std::make_move_iterator(old.uses.end()));
  const std::size_t old_uses = uses.size();
  uses.insert(uses.end(), std::make_move_iterator(fresh.uses.begin()),
              std::make_move_iterator(fresh.uses.end()));
  failure_map merged = old.failures;
  for (const auto& [k, row] : fresh.failures) merge_failure(merged, row);
  std::vector<infra::auth_failure_count> failures;
  failures.reserve(merged.size());
  for (auto& [k, row] : merged) failures.push_back(std::move(row));

  try {
    store.write(uses, failures);
  } catch (...) {
    // Keep the new part for one more try; what had already failed once is given up.
    const std::size_t given_up = old.size();
    fresh.uses.assign(std::make_move_iterator(uses.begin() + std::ptrdiff_t(old_uses)),
                      std::make_move_iterator(uses.end()));
    {
      std::lock_guard lock(mutex_);
      dropped_ += given_up;
      in_flight_ = 0;
      retry_ = std::move(fresh);
    }
    // Counts and the error only: telemetry names keys by id and never holds key material.
    infra::log(infra::log_level::warn, "usage_flush_failed",
               {{"uses", std::to_string(uses.size())},
                {"failure_rows", std::to_string(failures.size())},
                {"dropped", std::to_string(given_up)},
                {"detail", current_detail()}});
    throw;
  }
  std::lock_guard lock(mutex_);
  written_ += uses.size();
  in_flight_ = 0;
}

void usage_recorder::flush_logged(std::unique_ptr<infra::telemetry_store>& store) noexcept {
  try {
    if (!store) store = store_factory_();
    if (!store) return;
    flush(*store);
  } catch (const std::exception& e) {
    // flush() logged a failed write itself; this also covers a store that cannot be opened.
    if (!store) {
      infra::log(infra::log_level::warn, "usage_store_unavailable", {{"detail", e.what()}});
    }
    store.reset();  // the connection may be broken: open a new one next time
  } catch (...) {
    store.reset();
  }
}

void usage_recorder::drop_all() noexcept {
  std::lock_guard lock(mutex_);
  dropped_ += buffer_.size() + retry_.size();
  buffer_ = batch{};
  retry_ = batch{};
}

void usage_recorder::run() {
  std::unique_ptr<infra::telemetry_store> store;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || flush_requested_; });
    if (stopping_) break;
    flush_requested_ = false;
    const bool pending = held_locked() > 0;
    lock.unlock();
    if (pending) flush_logged(store);
    lock.lock();
  }
  lock.unlock();
  // What is left: a failed write gets its one retry at once, then the rest is given up.
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard check(mutex_);
      if (held_locked() == 0) return;
    }
    flush_logged(store);
  }
  drop_all();
}

void usage_recorder::start() {
  std::lock_guard lock(mutex_);
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void usage_recorder::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) {
    thread.join();
    return;
  }
  // Never started: flush what was buffered here, with the same one retry.
  if (!store_factory_) return;
  std::unique_ptr<infra::telemetry_store> store;
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard check(mutex_);
      if (held_locked() == 0) return;
    }
    flush_logged(store);
  }
  drop_all();
}

std::uint64_t usage_recorder::dropped() const noexcept {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::uint64_t usage_recorder::written() const noexcept {
  std::lock_guard lock(mutex_);
  return written_;
}

}  // namespace keyledger::services

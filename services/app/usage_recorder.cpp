#include "services/app/usage_recorder.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <limits>
#include <string_view>
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

// The second a use falls in (rounded down, also before the epoch).
std::int64_t second_of(std::int64_t at_us) noexcept {
  constexpr std::int64_t us_per_s = 1'000'000;
  return at_us / us_per_s - (at_us % us_per_s < 0 ? 1 : 0);
}

std::size_t mix(std::size_t seed, std::size_t h) noexcept {
  return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

// Computed before the lock is taken: the strings are hashed outside the critical section.
std::size_t bucket_hash(const usage_recorder::use_ref& use, std::int64_t second) noexcept {
  const std::hash<std::string_view> text;
  std::size_t h = text(use.key_id);
  h = mix(h, text(use.ip));
  h = mix(h, text(use.code));
  h = mix(h, std::hash<std::int64_t>{}(second));
  return mix(h, use.log_request ? 1 : 0);
}

// The workspace is compared too, although a key id names one: a folded use must differ from
// the ones it absorbed in nothing but its instant.
bool same_bucket(const infra::key_use& held, const usage_recorder::use_ref& use,
                 std::int64_t second) noexcept {
  return held.log_request == use.log_request && second_of(held.at_us) == second &&
         held.key_id == use.key_id && held.ip == use.ip && held.code == use.code &&
         held.workspace_id == use.workspace_id;
}

}  // namespace

usage_recorder::usage_recorder(
    std::function<std::unique_ptr<infra::telemetry_store>()> store_factory, options opts)
    : store_factory_(std::move(store_factory)),
      options_(opts),
      // A pass every interval, or early once the buffer is half full (wake()).
      worker_("usage_flush", {opts.interval, false}, [this] {
        bool pending = false;
        {
          std::lock_guard lock(mutex_);
          pending = held_locked() > 0;
        }
        if (pending) flush_logged(store_);
      }) {
  options_.max_buffered = std::max<std::size_t>(options_.max_buffered, 1);
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

std::uint64_t usage_recorder::count_uses(std::span<const infra::key_use> uses) noexcept {
  std::uint64_t n = 0;
  for (const auto& u : uses) n += u.count;
  return n;
}

infra::key_use* usage_recorder::find_bucket_locked(const use_ref& use, std::int64_t second,
                                                   std::size_t hash) noexcept {
  if (use_index_.empty()) return nullptr;
  const std::size_t mask = use_index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const use_slot& slot = use_index_[i];
    if (slot.index == 0) return nullptr;
    if (slot.hash != hash) continue;
    infra::key_use& held = buffer_.uses[slot.index - 1];
    // A full count is passed over: the use then starts a bucket of its own further on.
    if (same_bucket(held, use, second) &&
        held.count <= std::numeric_limits<std::uint32_t>::max() - use.count) {
      return &held;
    }
  }
}

void usage_recorder::reserve_bucket_locked() {
  const std::size_t needed = (buffer_.used + 1) * 2;
  if (needed <= use_index_.size()) return;
  std::vector<use_slot> grown(std::max<std::size_t>(16, use_index_.size() * 2));
  const std::size_t mask = grown.size() - 1;
  for (const use_slot& slot : use_index_) {
    if (slot.index == 0) continue;
    std::size_t i = slot.hash & mask;
    while (grown[i].index != 0) i = (i + 1) & mask;
    grown[i] = slot;
  }
  use_index_ = std::move(grown);
}

void usage_recorder::index_last_bucket_locked(std::size_t hash) noexcept {
  const std::size_t mask = use_index_.size() - 1;
  std::size_t i = hash & mask;
  while (use_index_[i].index != 0) i = (i + 1) & mask;
  use_index_[i] = use_slot{hash, buffer_.used};
}

void usage_recorder::record_use(const infra::key_use& use) noexcept {
  record_use(use_ref{use.key_id, use.workspace_id, use.ip, use.code, use.at_us, use.log_request,
                     use.count});
}

void usage_recorder::record_use(const use_ref& use) noexcept {
  const std::uint32_t uses = use.count;
  if (uses == 0) return;
  const std::int64_t second = second_of(use.at_us);
  const std::size_t hash = bucket_hash(use, second);
  bool wake = false;
  try {
    std::lock_guard lock(mutex_);
    if (infra::key_use* held = find_bucket_locked(use, second, hash)) {
      // The common case under load: no new memory, so it counts even when the buffer is full.
      held->count += uses;
      held->at_us = std::max(held->at_us, use.at_us);
      return;
    }
    if (held_locked() >= options_.max_buffered) {
      dropped_ += uses;
      return;
    }
    // The index grows first: if the vector then cannot, the index is merely roomier.
    reserve_bucket_locked();
    // Into a kept element when there is one: assigning reuses its strings' storage.
    infra::key_use& fresh = buffer_.used < buffer_.uses.size() ? buffer_.uses[buffer_.used]
                                                               : buffer_.uses.emplace_back();
    fresh.key_id.assign(use.key_id);
    fresh.workspace_id.assign(use.workspace_id);
    fresh.at_us = use.at_us;
    fresh.ip.assign(use.ip);
    fresh.code.assign(use.code);
    fresh.log_request = use.log_request;
    fresh.count = use.count;
    ++buffer_.used;  // only now: a throw above leaves the element a spare
    index_last_bucket_locked(hash);
    wake = crossed_threshold_locked();
  } catch (...) {
    // Out of memory: the record is lost, like any other that does not fit.
    try {
      std::lock_guard lock(mutex_);
      dropped_ += uses;
    } catch (...) {
    }
  }
  if (wake) worker_.wake();
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
  } catch (...) {
    try {
      std::lock_guard lock(mutex_);
      ++dropped_;
    } catch (...) {
    }
  }
  if (wake) worker_.wake();
}

void usage_recorder::flush(infra::telemetry_store& store) {
  std::lock_guard flush_lock(flush_mutex_);
  batch fresh;
  batch old;
  std::vector<use_slot> index;
  {
    std::lock_guard lock(mutex_);
    fresh = std::exchange(buffer_, std::exchange(spare_, batch{}));
    index = std::exchange(use_index_, std::exchange(spare_index_, {}));
    old = std::exchange(retry_, batch{});
    in_flight_ = fresh.size() + old.size();
  }
  if (fresh.size() + old.size() == 0) {
    keep_for_reuse(std::move(fresh), std::move(index));
    return;
  }

  // One write for both: the batch kept from a failed try goes first (older), then the new one
  // (copied together only then; usually the new batch is written as it is). Failure rows are
  // merged, so a (workspace, ip, code) appears once per write.
  const std::uint64_t old_count = count_uses(old.records());
  std::vector<infra::key_use> joined;
  if (old.used > 0) {
    joined.reserve(old.used + fresh.used);
    joined.insert(joined.end(), old.records().begin(), old.records().end());
    joined.insert(joined.end(), fresh.records().begin(), fresh.records().end());
  }
  const std::span<const infra::key_use> uses =
      old.used > 0 ? std::span<const infra::key_use>(joined) : fresh.records();
  failure_map merged = old.failures;
  for (const auto& [k, row] : fresh.failures) merge_failure(merged, row);
  std::vector<infra::auth_failure_count> failures;
  failures.reserve(merged.size());
  for (auto& [k, row] : merged) failures.push_back(std::move(row));
  const std::uint64_t use_count = count_uses(uses);

  try {
    store.write(uses, failures);
  } catch (...) {
    // Keep the new part for one more try; what had already failed once is given up.
    const std::uint64_t given_up = old_count + old.failures.size();
    {
      std::lock_guard lock(mutex_);
      dropped_ += given_up;
      in_flight_ = 0;
      retry_ = std::move(fresh);
    }
    // Counts and the error only: telemetry names keys by id and never holds key material.
    infra::log(infra::log_level::warn, "usage_flush_failed",
               {{"uses", std::to_string(use_count)},
                {"failure_rows", std::to_string(failures.size())},
                {"dropped", std::to_string(given_up)},
                {"detail", current_detail()}});
    throw;
  }
  {
    std::lock_guard lock(mutex_);
    written_ += use_count;
    in_flight_ = 0;
  }
  keep_for_reuse(std::move(fresh), std::move(index));
}

void usage_recorder::keep_for_reuse(batch written, std::vector<use_slot> index) noexcept {
  written.used = 0;
  written.failures.clear();
  std::fill(index.begin(), index.end(), use_slot{});
  std::lock_guard lock(mutex_);
  spare_ = std::move(written);
  spare_index_ = std::move(index);
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
  dropped_ += count_uses(buffer_.records()) + buffer_.failures.size() +
              count_uses(retry_.records()) + retry_.failures.size();
  buffer_ = batch{};
  use_index_.clear();
  retry_ = batch{};
}

void usage_recorder::start() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
  }
  worker_.start();
}

void usage_recorder::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  const bool started = worker_.stop();
  // Never started and nowhere to write: nothing to flush.
  if (!started && !store_factory_) return;
  // What is left, on this thread now that the worker has stopped: a failed write gets its one
  // retry at once, then the rest is given up.
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard check(mutex_);
      if (held_locked() == 0) return;
    }
    flush_logged(store_);
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

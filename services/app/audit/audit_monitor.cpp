#include "services/app/audit/audit_monitor.hpp"

#include <algorithm>
#include <utility>

#include "infra/core/event_log/chain.hpp"
#include "infra/core/log.hpp"
#include "services/app/audit/audit_proofs.hpp"

namespace keyledger::services {
namespace {

namespace audit = domain::audit;
constexpr std::size_t checkpoints_per_check = 100;

}  // namespace

audit_monitor::audit_monitor(const audit::merkle_hasher& hasher, checkpoint_verifier verifier)
    : hasher_(hasher), verifier_(std::move(verifier)) {}

void audit_monitor::apply(const infra::recorded_event& e) {
  std::lock_guard lock(mutex_);
  if (failure_) return;
  if (e.global_seq != range_.size() + 1) {
    // Delivery is at least once: an event already applied is skipped; a gap is a mismatch.
    if (e.global_seq <= range_.size()) return;
    return fail_locked("seq " + std::to_string(e.global_seq) +
                       ": the events before it are missing");
  }
  if (infra::chain_hash(last_hash_, e) != e.hash) {
    return fail_locked("seq " + std::to_string(e.global_seq) +
                       ": hash mismatch (its bytes or the chain before it were altered)");
  }
  last_hash_ = e.hash;
  range_.extend(hasher_, hasher_.leaf(e.hash));
}

std::size_t audit_monitor::check_checkpoints(infra::audit_store& store,
                                             const audit_proofs& proofs) {
  {
    std::lock_guard lock(mutex_);
    if (failure_) return 0;
    // The events applied so far, frozen: checkpoints up to its size are checked against its root,
    // through the stored tree once that has caught up with it (the writer may lag this node).
    if (!snapshot_) snapshot_ = range_;
  }
  if (snapshot_->size() == 0 || store.tree_size() < snapshot_->size()) return 0;
  std::vector<infra::stored_checkpoint> todo;
  if (!first_check_done_) {
    // At start, the latest one: it covers the most.
    if (auto latest = store.latest_checkpoint()) todo.push_back(std::move(*latest));
  } else {
    todo = store.checkpoints(checked_size() + 1, checkpoints_per_check);
  }
  std::size_t checked = 0;
  for (const auto& c : todo) {
    if (c.tree_size > snapshot_->size()) {
      // Signed beyond what this node applied: normal while it catches up, unless the stored
      // log itself ends before it - then its tail was removed.
      if (const auto head = store.log_head(); head < c.tree_size) {
        fail("checkpoint " + std::to_string(c.tree_size) + ": the log ends at event " +
             std::to_string(head) + ", before this signed size (events at the end were removed)");
        return checked;
      }
      break;  // with the next snapshot
    }
    if (!check(c, *snapshot_, store, proofs)) return checked;
    ++checked;
    std::lock_guard lock(mutex_);
    checked_size_ = std::max(checked_size_, c.tree_size);
  }
  first_check_done_ = true;
  snapshot_.reset();
  return checked;
}

bool audit_monitor::check(const infra::stored_checkpoint& c, const audit::compact_range& mine,
                          infra::audit_store& store, const audit_proofs& proofs) {
  const auto label = "checkpoint " + std::to_string(c.tree_size) + ": ";
  auto opened = verifier_.open(c.note);
  if (!opened) {
    fail(label + opened.error());
    return false;
  }
  if (opened->size != c.tree_size || opened->root != c.root) {
    fail(label + "its row differs from its signed note");
    return false;
  }
  const auto my_root = mine.root(hasher_);
  if (opened->size == mine.size()) {
    if (opened->root != my_root) {
      fail(label + "its root is not the root of the events stored");
      return false;
    }
    return true;
  }
  // The proof comes from the stored tree, which is not trusted: it must lead from the signed
  // root to the root of the events this node applied itself.
  auto proof = proofs.consistency(store, opened->size, mine.size());
  if (!proof) {
    fail(label + "no consistency proof to the events stored: " + proof.error().text);
    return false;
  }
  const auto verdict = audit::verify_consistency(hasher_, opened->size, mine.size(), proof->proof,
                                                 opened->root, my_root);
  if (verdict != audit::proof_verdict::valid) {
    fail(label + "the events stored do not extend it (" + std::string(to_string(verdict)) + ")");
    return false;
  }
  return true;
}

void audit_monitor::fail(std::string why) {
  std::lock_guard lock(mutex_);
  fail_locked(std::move(why));
}

void audit_monitor::fail_locked(std::string why) {
  if (failure_) return;
  infra::log(infra::log_level::error, "audit_log_mismatch", {{"problem", why}});
  failure_ = std::move(why);
  failed_.fetch_add(1);
}

std::optional<std::string> audit_monitor::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

std::uint64_t audit_monitor::applied_size() const {
  std::lock_guard lock(mutex_);
  return range_.size();
}

std::uint64_t audit_monitor::checked_size() const {
  std::lock_guard lock(mutex_);
  return checked_size_;
}

}  // namespace keyledger::services

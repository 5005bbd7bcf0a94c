#include "services/app/audit/log_export.hpp"

#include <deque>
#include <future>
#include <ostream>
#include <string>
#include <vector>

#include "domain/audit/merkle.hpp"
#include "infra/core/error.hpp"
#include "infra/json/export_codec.hpp"
#include "services/app/audit/checkpoint_key.hpp"

namespace keyledger::services {
namespace {

constexpr std::size_t events_per_read = 5000;
constexpr std::size_t checkpoints_per_read = 1000;

}  // namespace

log_export_result export_audit_log(
    infra::event_store& events, infra::audit_store& audit, std::uint64_t since,
    const domain::clock& clock, std::ostream& out,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const auto key = audit.checkpoint_key();
  if (!key) throw infra::error(infra::errc::bad_request, "the log has no checkpoint key yet");
  // The checkpoints first, then the head: every checkpoint listed is of a size the head had.
  std::deque<infra::stored_checkpoint> checkpoints;
  for (std::uint64_t from = since + 1;;) {
    auto page = audit.checkpoints(from, checkpoints_per_read);
    if (page.empty()) break;
    from = page.back().tree_size + 1;
    for (auto& c : page) checkpoints.push_back(std::move(c));
  }
  const auto head = events.head_seq();
  if (since > head) {
    throw infra::error(
        infra::errc::bad_request,
        "--since " + std::to_string(since) + " is past the log's head " + std::to_string(head));
  }
  if (since > audit.tree_size()) {
    throw infra::error(infra::errc::bad_request,
                       "--since is past the Merkle tree: the checkpoint signer has not reached " +
                           std::to_string(since) + " yet; try again shortly");
  }

  infra::export_header h;
  h.origin = key->origin;
  h.verifier_key = verifier_key_of(*key).value_or("");
  h.since = since;
  h.exported_at = domain::format_timestamp(std::chrono::floor<std::chrono::seconds>(clock.now()));
  if (since > 0) {
    const auto before = events.read_all(since - 1, 1);
    if (before.empty() || before[0].global_seq != since) {
      throw infra::error(infra::errc::storage, "event " + std::to_string(since) + " is missing");
    }
    h.previous_hash = before[0].hash;
    std::vector<infra::tree_node_id> ids;
    for (const auto& id : domain::audit::frontier_ids(since)) ids.push_back({id.level, id.index});
    const auto hashes = audit.nodes(ids);
    h.frontier.assign(hashes.begin(), hashes.end());
  }
  out << infra::format_export_header(h) << '\n';

  log_export_result r;
  r.last_seq = since;
  const auto total = head - since;
  const auto write_due = [&](std::uint64_t size) {
    while (!checkpoints.empty() && checkpoints.front().tree_size <= size) {
      const auto& c = checkpoints.front();
      out << infra::format_export_checkpoint_line(c.tree_size, c.note) << '\n';
      ++r.checkpoints;
      checkpoints.pop_front();
    }
  };
  // The next page is read while this one is written (the store is used by one thread at a
  // time: the reader's), so the database's time and the formatting overlap.
  const auto read_after = [&events, head](std::uint64_t after) {
    return events.read_all(after, std::min<std::uint64_t>(events_per_read, head - after));
  };
  std::future<std::vector<infra::recorded_event>> next;
  if (since < head) next = std::async(std::launch::async, read_after, since);
  std::string buffer;
  while (next.valid()) {
    const auto page = next.get();
    if (page.empty()) break;
    const auto after = page.back().global_seq;
    if (after < head) next = std::async(std::launch::async, read_after, after);
    buffer.clear();
    for (const auto& e : page) {
      buffer += infra::format_export_event_line(e);
      buffer += '\n';
      ++r.events;
      r.last_seq = e.global_seq;
      if (!checkpoints.empty() && checkpoints.front().tree_size <= e.global_seq) {
        out << buffer;
        buffer.clear();
        write_due(e.global_seq);
      }
    }
    out << buffer;
    if (progress) progress(r.events, total);
  }
  // Checkpoints the stored events no longer reach: the verifier names them.
  write_due(UINT64_MAX);
  if (!out) throw infra::error(infra::errc::storage, "writing the export failed");
  if (progress) progress(r.events, total);
  return r;
}

}  // namespace keyledger::services

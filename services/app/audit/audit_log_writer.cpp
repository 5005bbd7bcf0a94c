#include "services/app/audit/audit_log_writer.hpp"

#include <algorithm>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/json/json.hpp"
#include "services/app/audit/checkpoint_key.hpp"

namespace keyledger::services {
namespace {

namespace audit = domain::audit;

constexpr std::string_view workspace_prefix = "workspace-";
constexpr std::string_view members_prefix = "workspace_members-";

/// Streams whose first event names the workspace they belong to.
constexpr std::string_view workspace_named_categories[] = {"api_key-", "oauth_client-",
                                                           "oauth_grant-", "oauth_access_token-"};

std::vector<infra::tree_node_id> ids_of(const std::vector<audit::node_id>& ids) {
  std::vector<infra::tree_node_id> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back({id.level, id.index});
  return out;
}

}  // namespace

std::string workspace_of_stream(const infra::audit_leaf& first) {
  const std::string_view stream = first.stream_id;
  if (stream.starts_with(workspace_prefix))
    return std::string(stream.substr(workspace_prefix.size()));
  if (stream.starts_with(members_prefix)) return std::string(stream.substr(members_prefix.size()));
  const bool named =
      std::any_of(std::begin(workspace_named_categories), std::end(workspace_named_categories),
                  [&](std::string_view p) { return stream.starts_with(p); });
  if (!named) return {};
  // The log's own payloads: limits well beyond any event's (a key's scopes and CIDRs, a
  // client's redirect URIs), so that no stream goes unattributed.
  infra::json_limits limits;
  limits.max_depth = 16;
  limits.max_string = 1024 * 1024;
  limits.max_array = 100'000;
  limits.max_members = 10'000;
  auto body = infra::json_body::parse(first.payload, limits);
  if (!body) return {};
  auto ws = body->get_string("workspace_id");
  if (!ws || !ws.value()) return {};
  return std::move(*ws.value());
}

audit_log_writer::audit_log_writer(const audit::merkle_hasher& hasher, const checkpoint_key& key,
                                   const domain::clock& clock, options opts)
    : hasher_(hasher), key_(key), clock_(clock), options_(opts) {
  options_.checkpoint_every_events = std::max<std::uint64_t>(1, options_.checkpoint_every_events);
  options_.batch = std::max<std::size_t>(1, options_.batch);
}

void audit_log_writer::load(infra::audit_store& store) {
  const auto size = store.tree_size();
  const auto hashes = store.nodes(ids_of(audit::frontier_ids(size)));
  range_ = audit::compact_range::restore(size, {hashes.begin(), hashes.end()});
  if (!range_)
    throw infra::error(infra::errc::storage, "audit: the tree's right edge is incomplete");
  const auto latest = store.latest_checkpoint();
  last_checkpoint_size_ = latest ? latest->tree_size : 0;
  // With no checkpoint yet, the first time-based one comes T after this node first looked.
  last_checkpoint_at_ =
      latest ? domain::timestamp(std::chrono::microseconds(latest->signed_at_us)) : clock_.now();
}

std::optional<infra::stored_checkpoint> audit_log_writer::due(std::uint64_t size,
                                                              const audit::digest& root,
                                                              bool by_time_only) const {
  if (size <= last_checkpoint_size_) return std::nullopt;
  const auto now = clock_.now();
  const bool by_count = size - last_checkpoint_size_ >= options_.checkpoint_every_events;
  const bool by_time = now - last_checkpoint_at_ >= options_.checkpoint_every;
  if (by_time_only ? !by_time : !by_count) return std::nullopt;
  audit::checkpoint c;
  c.origin = key_.origin();
  c.size = size;
  c.root = root;
  c.time = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  infra::stored_checkpoint out;
  out.tree_size = size;
  out.root = root;
  out.signed_at_us = domain::to_micros(now);
  out.note = key_.sign(c);
  return out;
}

audit_log_writer::outcome audit_log_writer::run_once(infra::audit_store& store) {
  outcome out;
  try {
    if (!range_) load(store);
    for (;;) {
      const auto size = range_->size();
      // No further than the next checkpoint by count, so that one lands on its exact size.
      const auto to_next = last_checkpoint_size_ + options_.checkpoint_every_events - size;
      const auto leaves = store.leaves(size, std::min<std::uint64_t>(options_.batch, to_next));
      if (leaves.empty()) break;
      auto next = *range_;
      infra::tree_extension ext;
      ext.from_size = size;
      for (const auto& leaf : leaves) {
        if (leaf.global_seq != next.size() + 1) {
          throw infra::error(infra::errc::storage, "audit: the log has a gap before seq " +
                                                       std::to_string(leaf.global_seq));
        }
        const auto leaf_hash = hasher_.leaf(leaf.event_hash);
        for (const auto& n : next.append(hasher_, leaf_hash)) {
          ext.nodes.push_back({{n.id.level, n.id.index}, n.hash});
        }
        if (leaf.version == 1) {
          if (auto ws = workspace_of_stream(leaf); !ws.empty()) {
            ext.owners.push_back({leaf.stream_id, std::move(ws)});
          }
        }
      }
      ext.to_size = next.size();
      ext.checkpoint = due(ext.to_size, next.root(hasher_), false);
      store.extend(ext);
      range_ = std::move(next);
      if (ext.checkpoint) {
        last_checkpoint_size_ = ext.checkpoint->tree_size;
        last_checkpoint_at_ =
            domain::timestamp(std::chrono::microseconds(ext.checkpoint->signed_at_us));
        ++out.checkpoints;
      }
    }
    if (auto c = due(range_->size(), range_->root(hasher_), true)) {
      if (store.add_checkpoint(*c)) {
        ++out.checkpoints;
        last_checkpoint_size_ = c->tree_size;
        last_checkpoint_at_ = domain::timestamp(std::chrono::microseconds(c->signed_at_us));
      } else {
        // Another node extended the tree or signed it meanwhile: start again from what is stored.
        range_.reset();
        out.lost_race = true;
        return out;
      }
    }
    out.tree_size = range_->size();
    return out;
  } catch (const infra::error& e) {
    // Decide again from the stored tree next time.
    range_.reset();
    if (e.code() != infra::errc::conflict) throw;
    out.lost_race = true;
    return out;
  }
}

}  // namespace keyledger::services

#include "services/app/audit/audit_proofs.hpp"

#include <map>
#include <set>

namespace keyledger::services {
namespace {

namespace audit = domain::audit;
using domain::problem;
using domain::problem_kind;

/// The stored nodes a computation reads, fetched in one query.
class fetched_nodes final : public audit::node_source {
 public:
  fetched_nodes(infra::audit_store& store, const std::vector<audit::node_id>& ids) {
    std::vector<infra::tree_node_id> wanted;
    wanted.reserve(ids.size());
    for (const auto& id : ids) wanted.push_back({id.level, id.index});
    const auto hashes = store.nodes(wanted);
    for (std::size_t i = 0; i < ids.size(); ++i) nodes_.emplace(ids[i], hashes[i]);
  }
  audit::digest node(audit::node_id id) const override { return nodes_.at(id); }

 private:
  std::map<audit::node_id, audit::digest> nodes_;
};

problem beyond_tree(std::string_view field, std::uint64_t size) {
  return problem::of(problem_kind::invalid, "INVALID_FIELD",
                     "query parameter '" + std::string(field) + "' is beyond the tree, which has " +
                         std::to_string(size) + " events");
}

}  // namespace

domain::result<audit::digest, problem> audit_proofs::root(infra::audit_store& store,
                                                          std::uint64_t size) const {
  const auto tree = store.tree_size();
  if (size > tree) return beyond_tree("size", tree);
  const fetched_nodes source(store, audit::root_nodes(size));
  return audit::root_at(hasher_, source, size);
}

domain::result<inclusion_answer, problem> audit_proofs::inclusion(infra::audit_store& store,
                                                                  std::uint64_t seq,
                                                                  std::uint64_t size) const {
  const auto tree = store.tree_size();
  if (size > tree) return beyond_tree("size", tree);
  if (seq < 1 || seq > size) {
    return problem::of(problem_kind::invalid, "INVALID_FIELD",
                       "query parameter 'seq' must be between 1 and 'size'");
  }
  const auto ids = audit::inclusion_proof_nodes(seq - 1, size);
  std::vector<audit::node_id> all = ids ? *ids : std::vector<audit::node_id>{};
  all.push_back({0, seq - 1});
  const fetched_nodes source(store, all);
  inclusion_answer out;
  out.seq = seq;
  out.tree_size = size;
  out.leaf_hash = source.node({0, seq - 1});
  out.proof = *audit::inclusion_proof(hasher_, source, seq - 1, size);
  return out;
}

domain::result<consistency_answer, problem> audit_proofs::consistency(infra::audit_store& store,
                                                                      std::uint64_t from_size,
                                                                      std::uint64_t to_size) const {
  const auto tree = store.tree_size();
  if (to_size > tree) return beyond_tree("to_size", tree);
  if (from_size < 1 || from_size > to_size) {
    return problem::of(problem_kind::invalid, "INVALID_FIELD",
                       "query parameter 'from_size' must be between 1 and 'to_size'");
  }
  const fetched_nodes source(store, *audit::consistency_proof_nodes(from_size, to_size));
  consistency_answer out;
  out.from_size = from_size;
  out.to_size = to_size;
  out.proof = *audit::consistency_proof(hasher_, source, from_size, to_size);
  return out;
}

workspace_events_answer audit_proofs::workspace_events(infra::audit_store& store,
                                                       std::string_view workspace_id,
                                                       std::uint64_t after,
                                                       std::size_t limit) const {
  workspace_events_answer out;
  out.next_after = after;
  out.checkpoint = store.latest_checkpoint();
  if (!out.checkpoint || after >= out.checkpoint->tree_size) return out;
  const auto size = out.checkpoint->tree_size;
  // One more than asked, to know whether more follow.
  auto rows = store.workspace_events(workspace_id, after, size, limit + 1);
  out.more = rows.size() > limit;
  if (out.more) rows.resize(limit);
  std::set<audit::node_id> wanted;
  for (const auto& r : rows) {
    const auto ids = audit::inclusion_proof_nodes(r.event.global_seq - 1, size);
    wanted.insert(ids->begin(), ids->end());
  }
  const fetched_nodes source(store, {wanted.begin(), wanted.end()});
  for (auto& r : rows) {
    provable_event e;
    e.proof = *audit::inclusion_proof(hasher_, source, r.event.global_seq - 1, size);
    e.previous_hash = r.previous_hash;
    e.event = std::move(r.event);
    out.next_after = e.event.global_seq;
    out.events.push_back(std::move(e));
  }
  return out;
}

}  // namespace keyledger::services

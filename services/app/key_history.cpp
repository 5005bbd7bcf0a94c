// A key's history: the rotation chain's streams, and a sentence for each event.
#include "services/app/key_history.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "domain/overloaded.hpp"
#include "infra/json/event_codec.hpp"

namespace keyledger::services {
namespace {

// A chain is a key per rotation; this many is decades of monthly rotations. Beyond it the
// history stops growing instead of reading without end.
constexpr std::size_t max_chain = 1000;

constexpr std::string_view key_stream_prefix = "api_key-";

std::string key_id_of_stream(std::string_view stream_id) {
  return std::string(stream_id.substr(key_stream_prefix.size()));
}

std::string list_or(const std::vector<std::string>& items, std::string_view none) {
  if (items.empty()) return std::string(none);
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string rate_text(const std::optional<domain::rate_limit>& limit) {
  if (!limit) return "none";
  return std::to_string(limit->limit) + " per " + std::to_string(limit->window_seconds) + " s";
}

std::string expiry_text(const std::optional<domain::timestamp>& expires_at) {
  return expires_at ? "expires at " + domain::format_timestamp(*expires_at) : "never expires";
}

std::string created_text(const domain::key_created& e, std::string_view actor) {
  if (!e.rotated_from.empty()) {
    return "Created by " + std::string(actor) + " by rotating " + e.rotated_from +
           ", with its settings; " + expiry_text(e.expires_at) + ".";
  }
  std::string text = "Created by " + std::string(actor) + ": " + quoted(e.name) + " (" +
                     std::string(domain::to_string(e.env)) + "), scopes " +
                     list_or(e.scopes, "none");
  if (!e.allowed_cidrs.empty()) text += ", allowed from " + list_or(e.allowed_cidrs, "");
  if (e.limit) text += ", rate limit " + rate_text(e.limit);
  if (!e.postback_url.empty()) text += ", postbacks to " + e.postback_url;
  if (e.off_the_record) text += ", off the record";
  if (!e.enabled) text += ", disabled";
  if (!e.owner_user_id.empty()) text += ", owned by " + e.owner_user_id;
  return text + "; " + expiry_text(e.expires_at) + ".";
}

std::string updated_text(const domain::api_key_state& before, const domain::key_updated& e,
                         std::string_view actor) {
  std::vector<std::string> changes;
  if (e.name) changes.push_back("name " + quoted(before.name) + " to " + quoted(*e.name));
  if (e.scopes) {
    changes.push_back("scopes " + list_or(before.scopes, "none") + " to " +
                      list_or(*e.scopes, "none"));
  }
  if (e.allowed_cidrs) {
    changes.push_back("allowed from " + list_or(before.allowed_cidrs, "anywhere") + " to " +
                      list_or(*e.allowed_cidrs, "anywhere"));
  }
  if (e.postback_url) {
    changes.push_back(e.postback_url->empty() ? "postback URL removed"
                                              : "postbacks to " + *e.postback_url);
  }
  if (e.off_the_record) {
    changes.push_back(*e.off_the_record ? "off the record" : "no longer off the record");
  }
  if (e.limit)
    changes.push_back("rate limit " + rate_text(before.limit) + " to " + rate_text(*e.limit));
  std::string text = "Changed by " + std::string(actor);
  if (changes.empty()) return text + ".";
  text += ": ";
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (i > 0) text += "; ";
    text += changes[i];
  }
  return text + ".";
}

// What the log holds of one chain while it is read.
struct chain_reader {
  infra::event_store& store;
  std::set<std::string> read;  // key ids whose streams were read
  std::vector<infra::recorded_event> events;

  // Reads the streams of `ids` not read yet; returns the linked ids (rotated from / to) that
  // were not read.
  std::set<std::string> read_more(const std::set<std::string>& ids) {
    std::vector<std::string> streams;
    for (const auto& id : ids) {
      if (read.size() >= max_chain) break;
      if (read.insert(id).second) streams.push_back(domain::key_stream_id(id));
    }
    std::set<std::string> linked;
    if (streams.empty()) return linked;
    auto more = store.read_streams_until(streams, std::numeric_limits<std::int64_t>::max());
    for (auto& e : more) {
      const auto decoded = infra::decode_api_key_event(e.type, e.payload);
      if (decoded) {
        if (const auto* c = std::get_if<domain::key_created>(&*decoded);
            c && !c->rotated_from.empty()) {
          linked.insert(c->rotated_from);
        } else if (const auto* r = std::get_if<domain::key_rotated>(&*decoded)) {
          linked.insert(r->rotated_to);
        }
      }
      events.push_back(std::move(e));
    }
    std::erase_if(linked, [&](const std::string& id) { return read.contains(id); });
    return linked;
  }
};

// The chain through `key_id` as far as the view knows it.
std::set<std::string> chain_in_view(std::string_view key_id, const active_key_view& view) {
  std::set<std::string> ids{std::string(key_id)};
  std::vector<std::string> todo{std::string(key_id)};
  while (!todo.empty() && ids.size() < max_chain) {
    const auto entry = view.find_by_id(todo.back());
    todo.pop_back();
    if (!entry) continue;
    for (const std::string_view next : {entry->rotated_from(), entry->rotated_to()}) {
      if (!next.empty() && ids.emplace(next).second) todo.emplace_back(next);
    }
  }
  return ids;
}

}  // namespace

std::string actor_phrase(std::string_view actor, std::string_view acting_for) {
  if (actor.empty()) return "an unrecorded actor";
  if (actor == "expiry-job") return "the expiry job";
  if (actor == "bootstrap") return "keyledger bootstrap";
  if (actor.starts_with("leak-reporter:")) {
    return "the leak reporter " + std::string(actor.substr(14));
  }
  if (actor.starts_with("key_")) {
    return acting_for.empty() ? "key " + std::string(actor)
                              : std::string(acting_for) + " with key " + std::string(actor);
  }
  return std::string(actor);
}

std::string describe_key_event(const domain::api_key_state& before,
                               const domain::api_key_event& event, std::string_view actor) {
  const std::string by(actor);
  return std::visit(
      domain::overloaded{
          [&](const domain::key_created& e) { return created_text(e, actor); },
          [&](const domain::key_updated& e) { return updated_text(before, e, actor); },
          [&](const domain::key_disabled&) { return "Disabled by " + by + "."; },
          [&](const domain::key_enabled&) { return "Enabled by " + by + "."; },
          [&](const domain::key_rotated& e) {
            const std::string head = "Rotated by " + by + ": replaced by " + e.rotated_to + "; ";
            if (e.grace_until <= e.rotated_at)
              return head + "the old secret stopped working at once.";
            return head + "the old secret works until " + domain::format_timestamp(e.grace_until) +
                   ".";
          },
          [&](const domain::key_revoked&) { return "Revoked by " + by + "."; },
          [&](const domain::key_expired& e) {
            return "Expired at " + domain::format_timestamp(e.expired_at) + " (recorded by " + by +
                   ").";
          },
          [&](const domain::key_leaked& e) {
            std::string text = "Reported leaked (found in " + e.source;
            if (!e.url.empty()) text += " at " + e.url;
            text += ", reported by " + by + ")";
            switch (e.action) {
              case domain::leak_response::revoked:
                return text + ": revoked at once.";
              case domain::leak_response::disabled:
                return text + ": disabled at once.";
              case domain::leak_response::none:
                break;
            }
            return text + "; it was already refused.";
          },
          [&](const domain::key_expiry_approaching& e) {
            return std::string(e.days_before == 14 ? "Expiry warning" : "Last expiry warning") +
                   ": the key expires at " + domain::format_timestamp(e.expires_at) +
                   " (recorded by " + by + ").";
          },
      },
      event);
}

key_history load_key_history(infra::event_store& store, std::string_view key_id,
                             const active_key_view& view) {
  chain_reader reader{store, {}, {}};
  // Usually one read: the chain the view knows. A link the view has not applied yet shows in
  // the events read and is followed.
  for (auto next = reader.read_more(chain_in_view(key_id, view)); !next.empty();) {
    next = reader.read_more(next);
  }
  std::sort(reader.events.begin(), reader.events.end(),
            [](const auto& a, const auto& b) { return a.global_seq < b.global_seq; });

  key_history out;
  std::map<std::string, domain::api_key_state, std::less<>> states;
  for (const auto& e : reader.events) {
    if (e.stream_id == domain::key_stream_id(key_id) && e.version == 1) {
      if (const auto c = infra::decode_api_key_event(e.type, e.payload)) {
        out.key = domain::evolve(out.key, *c);
      }
      break;
    }
  }
  if (!out.key.exists) return out;

  for (const auto& e : reader.events) {
    const std::string id = key_id_of_stream(e.stream_id);
    auto& state = states[id];
    const auto decoded = infra::decode_api_key_event(e.type, e.payload);
    // A stream joins with its KeyCreated, and only a key of the same workspace does: a key of
    // another workspace never shows, whatever a payload claims.
    if (!state.exists) {
      const auto* created = decoded ? std::get_if<domain::key_created>(&*decoded) : nullptr;
      if (created == nullptr || created->workspace_id != out.key.workspace_id) continue;
    }

    key_history_entry entry;
    entry.global_seq = e.global_seq;
    entry.key_id = id;
    entry.version = e.version;
    entry.type = e.type;
    entry.recorded_at = domain::timestamp(std::chrono::microseconds(e.recorded_at_us));
    entry.metadata = infra::decode_metadata(e.metadata).value_or(infra::event_metadata{});
    if (entry.metadata.actor.starts_with("key_")) {
      if (const auto acting = view.find_by_id(entry.metadata.actor)) {
        entry.acting_for = acting->owner_user_id();
      }
    }
    const auto who = actor_phrase(entry.metadata.actor, entry.acting_for);
    if (decoded) {
      entry.text = describe_key_event(state, *decoded, who);
      state = domain::evolve(std::move(state), *decoded);
    } else {
      entry.text = "An event of type " + e.type + " this server cannot read.";
    }
    // In global order, so oldest first: a chain's keys were created one after another.
    if (entry.version == 1) out.chain.push_back(id);
    out.entries.push_back(std::move(entry));
  }
  if (const auto it = states.find(key_id); it != states.end()) out.key = it->second;
  return out;
}

}  // namespace keyledger::services

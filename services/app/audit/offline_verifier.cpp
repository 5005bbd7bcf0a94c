#include "services/app/audit/offline_verifier.hpp"

#include <istream>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "domain/types.hpp"
#include "infra/core/event_log/chain.hpp"
#include "infra/json/export_codec.hpp"
#include "infra/json/json.hpp"

namespace keyledger::services {
namespace {

namespace audit = domain::audit;

audit_verification bad(std::string why) { return {false, std::move(why)}; }

std::string at_text(std::int64_t unix_seconds) {
  return domain::format_timestamp(domain::timestamp(std::chrono::seconds(unix_seconds)));
}

/// A member's value when present with the right type (a copy: the getters return temporaries).
template <class T>
std::optional<T> got(domain::result<std::optional<T>, infra::json_error> r) {
  if (!r) return std::nullopt;
  return std::move(r.value());
}

infra::json_limits page_limits() {
  infra::json_limits l;
  l.max_depth = 6;
  l.max_string = 1024 * 1024;
  l.max_array = 1000;
  l.max_members = 32;
  l.max_bytes = 256 * 1024 * 1024;
  return l;
}

std::optional<std::vector<audit::digest>> proof_of(const infra::json_body& o) {
  const auto p = got(o.get_string_array("proof"));
  if (!p) return std::nullopt;
  std::vector<audit::digest> out;
  for (const auto& h : *p) {
    auto d = infra::parse_hex_digest(h);
    if (!d) return std::nullopt;
    out.push_back(*d);
  }
  return out;
}

// ---- a whole export ------------------------------------------------------------------------

class export_check {
 public:
  export_check(const checkpoint_verifier& v, const audit::merkle_hasher& h,
               std::optional<audit::checkpoint> older)
      : verifier_(v), hasher_(h), older_(std::move(older)) {}

  std::optional<std::string> header(std::string_view line) {
    auto h = infra::parse_export_header(line);
    if (!h) return "line 1: not an export header of format " + std::string(infra::export_format);
    auto range = audit::compact_range::restore(h->since, {h->frontier.begin(), h->frontier.end()});
    if (!range) return std::string("line 1: the tree's right edge does not fit 'since'");
    range_ = std::move(*range);
    since_ = h->since;
    previous_ = h->previous_hash;
    if (older_ && older_->size <= since_ && since_ > 0) {
      return "the older checkpoint (size " + std::to_string(older_->size) +
             ") is before the export's start (" + std::to_string(since_) +
             "): export from an earlier --since";
    }
    return std::nullopt;
  }

  std::optional<std::string> event(std::string_view line, std::size_t line_no) {
    auto e = infra::parse_export_event_line(line);
    if (!e) return "line " + std::to_string(line_no) + ": not an event line";
    const auto expected = range_.size() + 1;
    if (e->global_seq != expected) {
      if (e->global_seq < expected) {
        return "event " + std::to_string(e->global_seq) + ": out of order (event " +
               std::to_string(expected) + " was expected)";
      }
      return "event " + std::to_string(expected) + " is missing (the next event is " +
             std::to_string(e->global_seq) + ")";
    }
    if (infra::chain_hash(previous_, *e) != e->hash) {
      return "event " + std::to_string(e->global_seq) +
             ": its hash does not match its bytes and the event before it (a payload, "
             "metadata or other field altered, or events reordered)";
    }
    previous_ = e->hash;
    range_.extend(hasher_, hasher_.leaf(e->hash));
    ++events_;
    if (older_ && older_->size == range_.size() && older_->root != range_.root(hasher_)) {
      return "the older checkpoint (size " + std::to_string(older_->size) +
             ") is not a prefix of this log: it was rewritten since (consistency failure)";
    }
    return std::nullopt;
  }

  std::optional<std::string> checkpoint(std::string_view line, std::size_t line_no) {
    auto c = infra::parse_export_checkpoint_line(line);
    if (!c) return "line " + std::to_string(line_no) + ": not a checkpoint line";
    const auto label = "checkpoint " + std::to_string(c->tree_size) + ": ";
    auto opened = verifier_.open(c->note);
    if (!opened) return label + opened.error();
    if (opened->size != c->tree_size) return label + "its size differs from its signed note";
    if (c->tree_size > range_.size()) {
      return label + "the export ends at event " + std::to_string(range_.size()) +
             ", before this signed size (events at the end were removed)";
    }
    if (c->tree_size < range_.size()) {
      return label + "out of place (after event " + std::to_string(range_.size()) + ")";
    }
    if (opened->root != range_.root(hasher_)) {
      return label +
             "its signed root is not the root of the events before it (an event was "
             "altered, inserted, removed or moved)";
    }
    ++checkpoints_;
    latest_ = opened.value();
    return std::nullopt;
  }

  audit_verification finish() const {
    if (older_ && older_->size > range_.size()) {
      return bad("the export ends at event " + std::to_string(range_.size()) +
                 ", before the older checkpoint's size " + std::to_string(older_->size) +
                 " (events at the end were removed)");
    }
    if (!latest_) {
      return bad("no signed checkpoint in the export covers its events (" +
                 std::to_string(events_) + " events)");
    }
    std::string msg = "OK: " + std::to_string(events_) + " events (seq " +
                      std::to_string(since_ + 1) + "-" + std::to_string(range_.size()) +
                      "): chain and Merkle tree recomputed; " + std::to_string(checkpoints_) +
                      " signed checkpoint(s) of " + verifier_.origin() +
                      " hold, the latest of size " + std::to_string(latest_->size) + " signed at " +
                      at_text(latest_->time);
    if (range_.size() > latest_->size) {
      msg += "; the last " + std::to_string(range_.size() - latest_->size) +
             " event(s) are not signed yet";
    }
    if (older_)
      msg += "; the older checkpoint of size " + std::to_string(older_->size) + " is a prefix";
    return {true, std::move(msg)};
  }

 private:
  const checkpoint_verifier& verifier_;
  const audit::merkle_hasher& hasher_;
  std::optional<audit::checkpoint> older_;
  audit::compact_range range_;
  std::uint64_t since_ = 0;
  infra::sha256_digest previous_{};
  std::uint64_t events_ = 0;
  std::uint64_t checkpoints_ = 0;
  std::optional<audit::checkpoint> latest_;
};

// ---- a workspace's events -----------------------------------------------------------------

class workspace_check {
 public:
  workspace_check(const checkpoint_verifier& v, const audit::merkle_hasher& h,
                  std::optional<audit::checkpoint> older)
      : verifier_(v), hasher_(h), older_(std::move(older)) {}

  std::optional<std::string> line(std::string_view text, std::size_t line_no) {
    auto body = infra::json_body::parse(text, page_limits());
    if (!body) return "line " + std::to_string(line_no) + ": not JSON";
    if (got(body->get_string("workspace_id"))) return page(body.value(), line_no);
    if (got(body->get_int("from_size"))) return consistency(body.value(), line_no);
    return "line " + std::to_string(line_no) +
           ": neither a page of /v1/audit/events nor a consistency proof";
  }

  audit_verification finish() const {
    if (pages_ == 0) return bad("no page of events in the file");
    if (older_ && !older_checked_) {
      return bad("an older checkpoint was given but no consistency proof from it to size " +
                 std::to_string(latest_ ? latest_->size : 0) +
                 " is in the file (GET /v1/audit/proofs/consistency)");
    }
    std::string msg = "OK: " + std::to_string(events_) + " event(s) of workspace " + workspace_ +
                      " proven in the log of " + verifier_.origin();
    if (latest_) {
      msg += " (signed checkpoint of size " + std::to_string(latest_->size) + ", " +
             at_text(latest_->time) + ")";
    }
    if (older_)
      msg += "; the older checkpoint of size " + std::to_string(older_->size) + " is a prefix";
    return {true, std::move(msg)};
  }

 private:
  std::optional<std::string> page(const infra::json_body& body, std::size_t line_no) {
    const auto where = "line " + std::to_string(line_no) + ": ";
    const auto ws = got(body.get_string("workspace_id"));
    if (!ws) return where + "no workspace_id";
    if (!workspace_.empty() && *ws != workspace_) return where + "a page of another workspace";
    workspace_ = *ws;
    const auto cp = got(body.get_object("checkpoint"));
    const auto events = got(body.get_object_array("events"));
    if (!events) return where + "no events array";
    if (events->empty()) {
      ++pages_;
      return std::nullopt;
    }
    if (!cp) return where + "events without a signed checkpoint";
    const auto note = got(cp->get_string("note"));
    if (!note) return where + "the checkpoint has no note";
    auto opened = verifier_.open(*note);
    if (!opened) return where + "checkpoint: " + opened.error();
    const auto size_field = got(cp->get_int("tree_size"));
    if (!size_field || *size_field < 0 || static_cast<std::uint64_t>(*size_field) != opened->size) {
      return where + "checkpoint: its size differs from its signed note";
    }
    for (const auto& e : *events) {
      if (auto why = event(e, opened.value())) return *why;
    }
    if (!latest_ || opened->size > latest_->size) latest_ = opened.value();
    ++pages_;
    return std::nullopt;
  }

  std::optional<std::string> event(const infra::json_body& o, const audit::checkpoint& cp) {
    infra::recorded_event e;
    const auto seq = got(o.get_int("global_seq"));
    const auto version = got(o.get_int("version"));
    const auto at = got(o.get_int("recorded_at_us"));
    const auto stream = got(o.get_string("stream_id"));
    const auto id = got(o.get_string("event_id"));
    const auto type = got(o.get_string("type"));
    const auto payload = got(o.get_string("payload"));
    const auto metadata = got(o.get_string("metadata"));
    const auto hash = got(o.get_string("hash"));
    const auto previous = got(o.get_string("previous_hash"));
    auto proof = proof_of(o);
    if (!seq || *seq < 1 || !version || *version < 1 || !at || !stream || !id || !type ||
        !payload || !metadata || !hash || !previous || !proof) {
      return std::string("an event of the page is malformed");
    }
    const auto label = "event " + std::to_string(*seq) + ": ";
    auto uuid = infra::parse_uuid_text(*id);
    auto h = infra::parse_hex_digest(*hash);
    auto p = infra::parse_hex_digest(*previous);
    if (!uuid || !h || !p) return label + "a malformed id or hash";
    if (static_cast<std::uint64_t>(*seq) <= last_seq_) {
      return label + "out of order or repeated (after event " + std::to_string(last_seq_) + ")";
    }
    e.global_seq = static_cast<std::uint64_t>(*seq);
    e.version = static_cast<std::uint64_t>(*version);
    e.recorded_at_us = *at;
    e.stream_id = *stream;
    e.event_id = *uuid;
    e.type = *type;
    e.payload = *payload;
    e.metadata = *metadata;
    e.hash = *h;
    if (infra::chain_hash(*p, e) != e.hash) {
      return label +
             "its hash does not match its bytes (a payload, metadata or other field "
             "altered)";
    }
    const auto verdict = audit::verify_inclusion(hasher_, e.global_seq - 1, cp.size,
                                                 hasher_.leaf(e.hash), *proof, cp.root);
    if (verdict != audit::proof_verdict::valid) {
      return label + "not in the signed log of size " + std::to_string(cp.size) +
             " (inclusion proof: " + std::string(to_string(verdict)) + ")";
    }
    last_seq_ = e.global_seq;
    ++events_;
    return std::nullopt;
  }

  std::optional<std::string> consistency(const infra::json_body& body, std::size_t line_no) {
    const auto where = "line " + std::to_string(line_no) + ": consistency proof: ";
    if (!older_) return std::nullopt;  // nothing to connect: ignored
    const auto from = got(body.get_int("from_size"));
    const auto to = got(body.get_int("to_size"));
    auto proof = proof_of(body);
    if (!from || !to || !proof) return where + "malformed";
    if (static_cast<std::uint64_t>(*from) != older_->size) {
      return where + "not from the older checkpoint's size";
    }
    if (!latest_ || static_cast<std::uint64_t>(*to) != latest_->size) {
      return where + "not to the size of the pages' checkpoint (put it after the pages)";
    }
    const auto verdict = audit::verify_consistency(hasher_, older_->size, latest_->size, *proof,
                                                   older_->root, latest_->root);
    if (verdict != audit::proof_verdict::valid) {
      return "the older checkpoint (size " + std::to_string(older_->size) +
             ") is not a prefix of the log of size " + std::to_string(latest_->size) +
             ": it was rewritten since (consistency: " + std::string(to_string(verdict)) + ")";
    }
    older_checked_ = true;
    return std::nullopt;
  }

  const checkpoint_verifier& verifier_;
  const audit::merkle_hasher& hasher_;
  std::optional<audit::checkpoint> older_;
  std::string workspace_;
  std::optional<audit::checkpoint> latest_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t events_ = 0;
  std::size_t pages_ = 0;
  bool older_checked_ = false;
};

}  // namespace

audit_verification verify_audit_file(std::istream& in, const checkpoint_verifier& verifier,
                                     const audit::merkle_hasher& hasher,
                                     const audit_verify_options& options) {
  std::optional<audit::checkpoint> older;
  if (options.older_checkpoint) {
    auto opened = verifier.open(*options.older_checkpoint);
    if (!opened) return bad("the older checkpoint: " + opened.error());
    older = std::move(opened.value());
  }
  std::string line;
  std::size_t line_no = 0;
  // The first non-empty line says what the file is.
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty()) break;
  }
  if (line.empty()) return bad("the file is empty");
  if (infra::kind_of_export_line(line) == infra::export_line_kind::header) {
    export_check check(verifier, hasher, older);
    if (auto why = check.header(line)) return bad(*why);
    while (std::getline(in, line)) {
      ++line_no;
      if (line.empty()) continue;
      std::optional<std::string> why;
      switch (infra::kind_of_export_line(line)) {
        case infra::export_line_kind::event:
          why = check.event(line, line_no);
          break;
        case infra::export_line_kind::checkpoint:
          why = check.checkpoint(line, line_no);
          break;
        default:
          why = "line " + std::to_string(line_no) + ": neither an event nor a checkpoint";
      }
      if (why) return bad(*why);
    }
    return check.finish();
  }
  workspace_check check(verifier, hasher, older);
  for (bool first = true;; first = false) {
    if (!first) {
      if (!std::getline(in, line)) break;
      ++line_no;
    }
    if (line.empty()) continue;
    if (auto why = check.line(line, line_no)) return bad(*why);
  }
  return check.finish();
}

}  // namespace keyledger::services

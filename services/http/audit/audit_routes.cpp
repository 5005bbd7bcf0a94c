#include "services/http/audit/audit_routes.hpp"

#include <charconv>
#include <memory>
#include <optional>
#include <span>

#include "domain/encoding.hpp"
#include "domain/people/policy.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/export_codec.hpp"
#include "infra/json/json.hpp"
#include "services/app/audit/audit_proofs.hpp"
#include "services/app/key_authorization.hpp"
#include "services/app/principal.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/context.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {
namespace {

constexpr std::size_t default_page = 100;
constexpr std::size_t max_page = 1000;

std::string hex(const std::array<std::uint8_t, 32>& d) {
  return infra::to_hex(std::span<const std::uint8_t>(d.data(), d.size()));
}

void write_proof(infra::json_writer& w, const std::vector<domain::audit::digest>& proof) {
  w.key("proof").begin_array();
  for (const auto& h : proof) w.string(hex(h));
  w.end_array();
}

void write_checkpoint(infra::json_writer& w, const infra::stored_checkpoint& c) {
  w.begin_object()
      .field("tree_size", c.tree_size)
      .field("root_hash", hex(c.root))
      .field("signed_at",
             domain::format_timestamp(domain::timestamp(std::chrono::microseconds(c.signed_at_us))))
      .field("note", c.note)
      .end_object();
}

/// A non-negative integer query parameter: nullopt when absent; answers 400 and sets `failed`
/// when malformed or outside [low, high].
std::optional<std::uint64_t> count_param(const call& c, std::string_view name, std::uint64_t low,
                                         std::uint64_t high, bool& failed) {
  // Only the first bad parameter is answered: a request is answered once (two bad parameters
  // answered twice, the second answer dropped by the server; found by tests/fuzz http).
  if (failed) return std::nullopt;
  const auto text = c.query_value(name);
  if (!text) return std::nullopt;
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < low || v > high ||
      (text->size() > 1 && (*text)[0] == '0')) {
    failed = true;
    invalid(c, std::string(name),
            "query parameter '" + std::string(name) + "' must be an integer from " +
                std::to_string(low) + (high == UINT64_MAX ? " up" : " to " + std::to_string(high)));
    return std::nullopt;
  }
  return v;
}

class audit_endpoints {
 public:
  audit_endpoints(const audit_components& a, const runner& run) : a_(a), run_(run) {}

  void public_key(call& c) {
    infra::json_writer w;
    w.begin_object()
        .field("origin", a_.origin)
        .field("algorithm", "Ed25519")
        .field("public_key", domain::base64_encode(a_.public_key))
        .field("verifier_key", a_.verifier_key)
        .end_object();
    c.respond(json_response(200, w.take()));
  }

  void checkpoints(call& c) {
    if (!allowed(c)) return;
    bool failed = false;
    const auto from = count_param(c, "from", 0, UINT64_MAX, failed);
    const auto limit = count_param(c, "limit", 1, max_page, failed);
    if (failed) return;
    run_.read(c, [this, from = from.value_or(0),
                  limit = limit.value_or(default_page)](std::size_t worker) {
      auto rows = a_.store_for(worker).checkpoints(from, limit + 1);
      const bool more = rows.size() > limit;
      if (more) rows.resize(limit);
      infra::json_writer w;
      w.begin_object().key("checkpoints").begin_array();
      for (const auto& r : rows) write_checkpoint(w, r);
      w.end_array().key("next_from");
      if (more) {
        w.number(rows.back().tree_size + 1);
      } else {
        w.null();
      }
      w.end_object();
      return json_response(200, w.take());
    });
  }

  void inclusion(call& c) {
    if (!allowed(c)) return;
    bool failed = false;
    const auto seq = count_param(c, "seq", 1, UINT64_MAX, failed);
    const auto size = count_param(c, "size", 1, UINT64_MAX, failed);
    if (failed) return;
    if (!seq) return void(missing(c, "seq"));
    if (!size) return void(missing(c, "size"));
    run_.read(c,
              [this, seq = *seq, size = *size, request_id = c.req.request_id](std::size_t worker) {
                auto r = a_.proofs.inclusion(a_.store_for(worker), seq, size);
                if (!r) return json_error(r.error(), request_id);
                infra::json_writer w;
                w.begin_object()
                    .field("seq", r->seq)
                    .field("leaf_index", r->seq - 1)
                    .field("tree_size", r->tree_size)
                    .field("leaf_hash", hex(r->leaf_hash));
                write_proof(w, r->proof);
                w.end_object();
                return json_response(200, w.take());
              });
  }

  void consistency(call& c) {
    if (!allowed(c)) return;
    bool failed = false;
    const auto from = count_param(c, "from_size", 1, UINT64_MAX, failed);
    const auto to = count_param(c, "to_size", 1, UINT64_MAX, failed);
    if (failed) return;
    if (!from) return void(missing(c, "from_size"));
    if (!to) return void(missing(c, "to_size"));
    run_.read(c, [this, from = *from, to = *to, request_id = c.req.request_id](std::size_t worker) {
      auto r = a_.proofs.consistency(a_.store_for(worker), from, to);
      if (!r) return json_error(r.error(), request_id);
      infra::json_writer w;
      w.begin_object().field("from_size", r->from_size).field("to_size", r->to_size);
      write_proof(w, r->proof);
      w.end_object();
      return json_response(200, w.take());
    });
  }

  void events(call& c) {
    if (!allowed(c)) return;
    bool failed = false;
    const auto after = count_param(c, "after", 0, UINT64_MAX, failed);
    const auto limit = count_param(c, "limit", 1, max_page, failed);
    if (failed) return;
    run_.read(c, [this, workspace = c.who->workspace_id, after = after.value_or(0),
                  limit = limit.value_or(default_page)](std::size_t worker) {
      const auto page = a_.proofs.workspace_events(a_.store_for(worker), workspace, after, limit);
      infra::json_writer w;
      w.begin_object().field("workspace_id", workspace).key("checkpoint");
      if (page.checkpoint) {
        write_checkpoint(w, *page.checkpoint);
      } else {
        w.null();
      }
      w.key("events").begin_array();
      for (const auto& e : page.events) {
        const auto& ev = e.event;
        w.begin_object()
            .field("global_seq", ev.global_seq)
            .field("stream_id", ev.stream_id)
            .field("version", ev.version)
            .field("event_id", infra::format_uuid_text(ev.event_id))
            .field("type", ev.type)
            .field("payload", ev.payload)
            .field("metadata", ev.metadata)
            .field("recorded_at_us", static_cast<std::int64_t>(ev.recorded_at_us))
            .field("hash", hex(ev.hash))
            .field("previous_hash", hex(e.previous_hash));
        write_proof(w, e.proof);
        w.end_object();
      }
      w.end_array().field("next_after", page.next_after).field("more", page.more).end_object();
      return json_response(200, w.take());
    });
  }

 private:
  bool allowed(call& c) {
    if (may(*c.who, domain::action::audit_read, "audit:read")) return true;
    answer(c, forbidden(*c.who, domain::action::audit_read));
    return false;
  }

  const audit_components& a_;
  const runner& run_;
};

}  // namespace

void add_audit_routes(route_table& t, const audit_components& audit, const runner& run) {
  using E = audit_endpoints;
  const auto e = std::make_shared<audit_endpoints>(audit, run);
  const std::vector<credential> P{credential::api_key, credential::session};
  t.add({"/v1/audit/public-key", {{"GET", {}, "", {}, false, false, bind(e, &E::public_key)}}});
  t.add({"/v1/audit/checkpoints",
         {{"GET", P, "", {"from", "limit"}, false, false, bind(e, &E::checkpoints)}}});
  t.add({"/v1/audit/proofs/inclusion",
         {{"GET", P, "", {"seq", "size"}, false, false, bind(e, &E::inclusion)}}});
  t.add({"/v1/audit/proofs/consistency",
         {{"GET", P, "", {"from_size", "to_size"}, false, false, bind(e, &E::consistency)}}});
  t.add({"/v1/audit/events",
         {{"GET", P, "", {"after", "limit"}, false, false, bind(e, &E::events)}}});
}

}  // namespace keyledger::services::http

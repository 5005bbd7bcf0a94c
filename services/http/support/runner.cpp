// Reads and commands on the blocking pool; commands under Idempotency-Key: claim, run, keep
// the sealed answer, replay it on a retry.
#include "services/http/support/runner.hpp"

#include <charconv>
#include <chrono>
#include <string>

#include "infra/core/error.hpp"
#include "infra/core/idempotency_store.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/http/errors/errors.hpp"

namespace keyledger::services::http {
namespace {

/// How long an answer is kept for replays.
constexpr std::chrono::hours retention{24};
/// A claim still pending after this long belongs to a request that died with its node (no
/// request runs this long: the answer deadline is seconds): it may be taken over.
constexpr std::chrono::seconds abandoned_after{60};

struct claim_info {
  std::string scope;  ///< the authenticated key's id, or the session's user id
  std::string key;    ///< the Idempotency-Key header
  infra::sha256_digest fingerprint{};
};

std::int64_t micros(domain::timestamp t) { return t.time_since_epoch().count(); }

void add_part(infra::sha256_hasher& h, std::string_view part) {
  // Length-prefixed, so that no two different requests hash the same byte stream.
  const auto size = std::to_string(part.size());
  h.update(size);
  h.update(std::string_view(":", 1));
  h.update(part);
}

/// SHA-256 over method, route template, path id and body (bytes as sent).
infra::sha256_digest fingerprint_of(const call& c) {
  infra::sha256_hasher h;
  add_part(h, c.req.method);
  add_part(h, c.route);
  add_part(h, c.path_id);
  add_part(h, c.req.body);
  return h.finish();
}

std::string associated_data(const claim_info& claim) { return claim.scope + "\n" + claim.key; }

// A kept answer: "KLR1\n" status "\n" content type "\n" header count "\n" (name "\n" value
// "\n")* body. Header names and values never hold a newline (the server refuses them).
std::string serialize(const infra::http_response& r) {
  std::string out = "KLR1\n" + std::to_string(r.status) + "\n" + r.content_type.str() + "\n" +
                    std::to_string(r.headers.size()) + "\n";
  for (const auto& [name, value] : r.headers) {
    out.append(name).append("\n").append(value).append("\n");
  }
  out += r.body;
  return out;
}

std::optional<infra::http_response> deserialize(std::string_view text) {
  auto line = [&text]() -> std::optional<std::string_view> {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    const auto l = text.substr(0, end);
    text.remove_prefix(end + 1);
    return l;
  };
  auto number = [](std::string_view s, unsigned& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  infra::http_response r;
  auto magic = line();
  auto status = line();
  auto type = line();
  auto count_text = line();
  unsigned count = 0;
  if (!magic || *magic != "KLR1" || !status || !number(*status, r.status) || !type || !count_text ||
      !number(*count_text, count) || count > 64) {
    return std::nullopt;
  }
  r.content_type = *type;
  for (unsigned i = 0; i < count; ++i) {
    auto name = line();
    auto value = line();
    if (!name || !value) return std::nullopt;
    r.headers.emplace_back(*name, *value);
  }
  r.body = std::string(text);
  return r;
}

infra::http_response not_applied(std::string_view request_id) {
  return json_error(domain::problem::of(domain::problem_kind::unavailable, "UNAVAILABLE",
                                        "The change was recorded but is not yet in effect on "
                                        "this node; retry the read shortly"),
                    request_id);
}

infra::http_response failure(const infra::error& e, std::string_view request_id) {
  return json_error(problem_of(e.code()), request_id);
}

infra::http_response internal_error(std::string_view request_id) {
  return json_error(problem_of(infra::errc::internal), request_id);
}

/// Runs `fn`; an exception becomes its public answer through `respond` (details to the log
/// only).
template <class F>
void answering_failures(const infra::responder& respond, const std::string& request_id, F&& fn) {
  try {
    fn();
  } catch (const infra::error& e) {
    infra::log(infra::log_level::error, "request_failed",
               {{"request_id", request_id}, {"detail", e.what()}});
    respond(failure(e, request_id));
  } catch (const std::exception& e) {
    infra::log(infra::log_level::error, "request_failed",
               {{"request_id", request_id}, {"detail", e.what()}});
    respond(internal_error(request_id));
  }
}

/// Runs the job; exceptions become their public answer (details to the log only).
command_result run_guarded(const command_job& job, std::size_t worker,
                           const std::string& request_id) {
  try {
    return job(worker);
  } catch (const infra::error& e) {
    const bool conflict = e.code() == infra::errc::conflict;
    infra::log(conflict ? infra::log_level::info : infra::log_level::error,
               conflict ? "command_conflict" : "request_failed",
               {{"request_id", request_id}, {"detail", e.what()}});
    return {failure(e, request_id), 0, conflict};
  } catch (const std::exception& e) {
    infra::log(infra::log_level::error, "request_failed",
               {{"request_id", request_id}, {"detail", e.what()}});
    return {internal_error(request_id), 0, false};
  }
}

}  // namespace

void runner::command(const call& c, command_job job) const {
  std::optional<claim_info> claim;
  const auto idempotency_key = c.req.header("idempotency-key");
  if (!idempotency_key.empty() && c.who) {
    // Key ids and user ids never collide (key_ / usr_), so one table serves both.
    claim = claim_info{c.who->is_key() ? c.who->key_id : c.who->user_id,
                       std::string(idempotency_key), fingerprint_of(c)};
  }
  // Failures on the way (the idempotency store, the wait) are answered by blocking().
  blocking(c, [this, job = std::move(job), claim = std::move(claim), respond = c.respond,
               request_id = c.req.request_id](std::size_t worker) {
    if (claim) {
      auto& store = d_.idempotency_for(worker);
      const auto now_us = micros(d_.clock.now());
      const auto expired_before =
          now_us - std::chrono::duration_cast<std::chrono::microseconds>(retention).count();
      auto earlier =
          store.claim(claim->scope, claim->key, claim->fingerprint, now_us, expired_before);
      if (earlier && !earlier->complete && earlier->fingerprint == claim->fingerprint &&
          earlier->created_at_us <
              now_us -
                  std::chrono::duration_cast<std::chrono::microseconds>(abandoned_after).count()) {
        store.release(claim->scope, claim->key);
        earlier = store.claim(claim->scope, claim->key, claim->fingerprint, now_us, expired_before);
      }
      if (earlier) {
        if (earlier->fingerprint != claim->fingerprint) {
          return respond(json_error(
              domain::problem::of(domain::problem_kind::unprocessable, "IDEMPOTENCY_KEY_REUSED"),
              request_id));
        }
        if (!earlier->complete) {
          return respond(json_error(
              domain::problem::of(domain::problem_kind::conflict, "IDEMPOTENCY_IN_PROGRESS"),
              request_id));
        }
        auto plain = d_.sealer.open(earlier->response, associated_data(*claim));
        auto replay = plain ? deserialize(*plain) : std::nullopt;
        if (!replay) {
          infra::log(infra::log_level::error, "idempotency_record_unreadable",
                     {{"request_id", request_id}});
          return respond(internal_error(request_id));
        }
        replay->headers.emplace_back("Idempotent-Replayed", "true");
        return respond(std::move(*replay));
      }
    }

    auto result = run_guarded(job, worker, request_id);

    if (claim) {
      // Kept before waiting for the view: if that wait times out, the command still
      // happened, and a retry must get its answer (a new key's secret), not run it again.
      auto& store = d_.idempotency_for(worker);
      try {
        if (result.response.status < 500 && !result.transient) {
          store.complete(claim->scope, claim->key,
                         d_.sealer.seal(serialize(result.response), associated_data(*claim)));
        } else {
          store.release(claim->scope, claim->key);
        }
      } catch (const std::exception& e) {
        // The answer still goes out; a retry meets a pending claim (409) until it is taken
        // over, rather than running the command twice.
        infra::log(infra::log_level::error, "idempotency_store_failed",
                   {{"request_id", request_id}, {"detail", e.what()}});
      }
    }
    if (result.seq != 0) {
      // The pool thread goes back to work; the answer leaves when the view has the events.
      return d_.when_applied(
          result.seq, std::chrono::steady_clock::now() + d_.apply_wait,
          [respond, response = std::move(result.response), request_id](bool applied) mutable {
            respond(applied ? std::move(response) : not_applied(request_id));
          });
    }
    respond(std::move(result.response));
  });
}

void runner::read(const call& c, read_job job) const {
  blocking(
      c, [job = std::move(job), respond = c.respond](std::size_t worker) { respond(job(worker)); });
}

void runner::blocking(const call& c, std::function<void(std::size_t worker)> fn) const {
  const bool queued = d_.pool.try_submit(
      [fn = std::move(fn), respond = c.respond, request_id = c.req.request_id](std::size_t worker) {
        answering_failures(respond, request_id, [&] { fn(worker); });
      });
  if (!queued) c.respond(json_error(problem_of(infra::errc::overloaded), c.req.request_id));
}

std::optional<infra::http_response> runner::settle(std::uint64_t seq,
                                                   std::string_view request_id) const {
  if (await_applied(seq)) return std::nullopt;
  return not_applied(request_id);
}

bool runner::await_applied(std::uint64_t seq) const {
  return seq == 0 || d_.wait_applied(seq, std::chrono::steady_clock::now() + d_.apply_wait);
}

}  // namespace keyledger::services::http

#include "services/app/leaks/leak_service.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "domain/keys/api_key.hpp"
#include "domain/keys/key_format.hpp"
#include "domain/keys/leak_report.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/key_service.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/app/workspace_service.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {
namespace {

std::string sha256_hex(std::string_view text) {
  const auto digest = infra::sha256(text);
  return infra::to_hex(std::span<const std::uint8_t>(digest.data(), digest.size()));
}

// The workspace whose prefix a reported string starts with ("<prefix>_..."), if exactly one
// workspace uses it: a near-miss of a workspace's key is counted against that workspace.
std::optional<std::string> workspace_of_text(const active_key_view& view, std::string_view text) {
  const auto underscore = text.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  const auto prefix = text.substr(0, underscore);
  if (!domain::valid_key_prefix(prefix)) return std::nullopt;
  return view.workspace_for_prefix(prefix);
}

}  // namespace

leak_service::leak_service(const active_key_view& view, const key_service& keys,
                           const workspace_service& workspaces,
                           const infra::hmac_key_hasher& hasher, usage_recorder& usage,
                           const domain::clock& clock)
    : view_(view),
      keys_(keys),
      workspaces_(workspaces),
      hasher_(hasher),
      usage_(usage),
      clock_(clock) {}

leak_outcome leak_service::handle(infra::event_store& store,
                                  std::span<const reported_string> report,
                                  std::string_view report_id,
                                  const leak_reporter_context& from) const {
  const auto now = clock_.now();
  const request_context ctx{"leak-reporter:" + from.reporter_key_id, from.request_id,
                            from.source_ip, from.idempotency_key};
  leak_outcome out;
  out.counts.strings = report.size();
  // Per report: each workspace's on_leak read once from its stream (the truth, not a view that
  // may lag a settings change), each key acted on once.
  std::map<std::string, domain::leak_action, std::less<>> on_leak;
  std::map<std::string, bool, std::less<>> done;

  for (const auto& reported : report) {
    const std::string_view token = reported.token.reveal();
    leak_verdict verdict{sha256_hex(token), reported.type, false};
    const auto count_failure = [&](std::string_view code) {
      const auto workspace = workspace_of_text(view_, token);
      usage_.record_failure(workspace ? *workspace : std::string_view(), from.source_ip, code,
                            domain::to_micros(now));
    };

    // Offline first: a string that is not a well-formed key is never hashed or looked up.
    if (!domain::parse_key(token).ok()) {
      ++out.counts.malformed;
      count_failure("LEAK_MALFORMED");
      out.verdicts.push_back(std::move(verdict));
      continue;
    }
    const auto entry = view_.find(hasher_.hash(token));
    if (!entry) {
      ++out.counts.unknown;
      count_failure("LEAK_UNKNOWN");
      out.verdicts.push_back(std::move(verdict));
      continue;
    }
    verdict.true_positive = true;
    const auto& key_id = entry->key_id();
    if (done.contains(key_id)) {
      out.verdicts.push_back(std::move(verdict));
      continue;
    }
    done.emplace(key_id, true);

    auto setting = on_leak.find(entry->workspace_id());
    if (setting == on_leak.end()) {
      const auto ws = workspaces_.load(store, entry->workspace_id());
      setting = on_leak.emplace(entry->workspace_id(), ws.on_leak).first;
    }
    domain::report_leak command;
    command.url = reported.url;
    command.source = reported.source;
    command.on_leak = setting->second;
    command.now = now;
    auto leaked = keys_.report_leak(store, key_id, command, report_id, ctx);
    if (!leaked) {
      // The view knew the key and the log does not (or the report's text broke an event rule
      // the caller should have checked): nothing was appended; say so in the log.
      infra::log(infra::log_level::warn, "leak_report_refused",
                 {{"key_id", key_id},
                  {"reason", domain::to_string(leaked.error())},
                  {"request_id", from.request_id}});
      out.verdicts.push_back(std::move(verdict));
      continue;
    }
    out.last_seq = std::max(out.last_seq, leaked->global_seq);
    if (leaked->repeated) {
      ++out.counts.repeated;
    } else if (leaked->action == domain::leak_response::revoked) {
      ++out.counts.revoked;
    } else if (leaked->action == domain::leak_response::disabled) {
      ++out.counts.disabled;
    } else {
      ++out.counts.already_refused;
    }
    out.verdicts.push_back(std::move(verdict));
  }

  const auto& c = out.counts;
  infra::log(infra::log_level::info, "leak_report",
             {{"reporter_key_id", from.reporter_key_id},
              {"strings", std::to_string(c.strings)},
              {"revoked", std::to_string(c.revoked)},
              {"disabled", std::to_string(c.disabled)},
              {"already_refused", std::to_string(c.already_refused)},
              {"repeated", std::to_string(c.repeated)},
              {"unknown", std::to_string(c.unknown)},
              {"malformed", std::to_string(c.malformed)},
              {"request_id", from.request_id},
              {"remote_ip", from.source_ip}});
  return out;
}

}  // namespace keyledger::services

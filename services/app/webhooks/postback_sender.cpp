#include "services/app/webhooks/postback_sender.hpp"

#include <algorithm>
#include <exception>

#include "domain/webhooks/delivery.hpp"
#include "infra/core/log.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/webhooks/endpoint_service.hpp"
#include "services/projections/active_key_view.hpp"
#include "services/projections/webhook_endpoint_view.hpp"

namespace keyledger::services {
namespace {

namespace wh = domain::webhooks;
using namespace std::chrono_literals;

/// Where a delivery goes now and what it is signed with.
struct destination {
  std::string url;
  std::vector<infra::secret> keys;
  std::optional<wh::endpoint_state> endpoint;  ///< for an endpoint (not a key's own URL)
};

std::string signature_of(const infra::secret& key, std::string_view content) {
  const infra::hmac_key_hasher mac{infra::secret(std::string(key.reveal()))};
  const auto digest = mac.hash(content);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

}  // namespace

bool postback_address_allowed(std::string_view address, const std::vector<domain::cidr>& allowed) {
  const auto ip = domain::parse_ip(address);
  if (!ip) return false;
  // Not ip_allowed: an empty list there means "anywhere".
  return domain::is_public_unicast(*ip) ||
         std::any_of(allowed.begin(), allowed.end(),
                     [&](const domain::cidr& c) { return c.contains(*ip); });
}

postback_sender::postback_sender(sender_dependencies deps, sender_options options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

postback_sender::~postback_sender() { stop(); }

void postback_sender::start() {
  for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

void postback_sender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void postback_sender::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakes_;
  }
  wake_.notify_all();
}

double postback_sender::jitter() {
  std::array<std::uint8_t, 4> bytes{};
  {
    std::lock_guard lock(mutex_);
    deps_.random.fill(bytes);
  }
  const std::uint32_t n = (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
                          (std::uint32_t{bytes[2]} << 8) | bytes[3];
  return static_cast<double>(n) / 4294967295.0 * 2.0 - 1.0;
}

void postback_sender::run() {
  std::unique_ptr<infra::webhook_store> store;
  std::unique_ptr<infra::event_store> events;
  for (;;) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      seen = wakes_;
    }
    std::size_t done = 0;
    try {
      if (!store) store = deps_.make_webhook_store();
      if (!events) events = deps_.make_event_store();
      done = run_once(*store, *events);
    } catch (const std::exception& e) {
      infra::log(infra::log_level::warn, "postback_sender_failed", {{"error", e.what()}});
      store.reset();
      events.reset();
    }
    if (done > 0) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.poll_interval, [&] { return stopping_ || wakes_ != seen; });
  }
}

std::size_t postback_sender::run_once(infra::webhook_store& store, infra::event_store& events) {
  const auto now = domain::to_micros(deps_.clock.now());
  const auto lease = std::chrono::duration_cast<std::chrono::microseconds>(options_.lease).count();
  const auto batch = store.claim(options_.claim_batch, now, now + lease);
  for (const auto& d : batch) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;  // the rest of the batch: its leases run out, another sender takes it
    }
    deliver(store, events, d);
  }
  return batch.size();
}

void postback_sender::deliver(infra::webhook_store& store, infra::event_store& events,
                              const infra::claimed_delivery& d) {
  // The delivery may come from another node's dispatcher: this node's views first catch up to
  // its event (the endpoint existed there), so "not found" below really means gone.
  if (!deps_.keys.wait_applied(d.event_seq, std::chrono::steady_clock::now() + 5s)) return;
  const auto now = deps_.clock.now();
  destination to;
  if (d.endpoint_id.starts_with("whe_")) {
    to.endpoint = deps_.endpoints.find(d.endpoint_id);
    if (!to.endpoint || to.endpoint->deleted || !to.endpoint->enabled) {
      store.drop(d.message_id, d.claim);
      return;
    }
    to.url = to.endpoint->settings.url;
    to.keys = deps_.service.signing_keys(store, *to.endpoint, now);
  } else {
    const auto key = deps_.keys.find_by_id(d.endpoint_id);
    if (!key || key->postback_url().empty()) {
      store.drop(d.message_id, d.claim);
      return;
    }
    to.url = std::string(key->postback_url());
    to.keys = deps_.service.key_signing_keys(store, d.endpoint_id, now);
  }

  infra::attempt_result result;
  result.message_id = d.message_id;
  result.claim = d.claim;
  result.endpoint_id = d.endpoint_id;
  result.started_us = domain::to_micros(now);
  const auto started = std::chrono::steady_clock::now();

  if (to.keys.empty()) {
    // Never sent unsigned: it waits for a secret (a key's: POST /v1/keys/{id}/postback-secret).
    result.outcome = infra::attempt_outcome::refused;
    result.error = "no signing secret: nothing was sent";
  } else {
    const auto timestamp =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto content = wh::signed_content(d.message_id, timestamp, d.payload);
    std::vector<std::string> signatures;
    for (const auto& key : to.keys) signatures.push_back(signature_of(key, content));
    postback_request request;
    request.url = to.url;
    request.headers = {{"Content-Type", "application/json"},
                       {"webhook-id", d.message_id},
                       {"webhook-timestamp", std::to_string(timestamp)},
                       {"webhook-signature", wh::signature_header(signatures)}};
    request.body = d.payload;
    auto answer = deps_.send(request);
    result.response_status = answer.status;
    result.outcome = answer.outcome;
    result.error = std::move(answer.error);
    if (result.error.size() > 300) result.error.resize(300);
  }
  result.latency_ms =
      static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
  if (result.outcome != infra::attempt_outcome::delivered) {
    const auto next = wh::next_attempt_at(d.attempts + 1, deps_.clock.now(), jitter());
    if (next) result.next_attempt_us = domain::to_micros(*next);
  }

  std::optional<std::int64_t> failing_since;
  if (!store.record(result, failing_since)) return;  // the lease ran out; another sender has it
  infra::log(infra::log_level::info, "postback_attempt",
             {{"message_id", d.message_id},
              {"endpoint_id", d.endpoint_id},
              {"type", d.event_type},
              {"attempt", std::to_string(d.attempts + 1)},
              {"outcome", std::string(infra::to_string(result.outcome))},
              {"status", result.response_status ? std::to_string(*result.response_status) : ""},
              {"latency_ms", std::to_string(result.latency_ms)}});
  if (failing_since && to.endpoint) {
    const auto since = domain::timestamp(std::chrono::microseconds(*failing_since));
    if (wh::failure_window_passed(since, deps_.clock.now(), options_.failure_window) &&
        deps_.service.disable_failing(events, *to.endpoint, since)) {
      infra::log(
          infra::log_level::warn, "webhook_endpoint_disabled",
          {{"endpoint_id", d.endpoint_id}, {"failing_since", domain::format_timestamp(since)}});
    }
  }
}

}  // namespace keyledger::services

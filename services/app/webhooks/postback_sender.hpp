#pragma once

// The dispatcher's second half (issue 10): sender threads that claim due deliveries (FOR UPDATE
// SKIP LOCKED with a lease, so one node sends each), sign them the Standard Webhooks way with
// every key the endpoint signs with now, POST them, and record what happened: a 2xx is
// delivered; anything else is retried on the schedule with jitter (domain::webhooks) with the
// same webhook-id, until given up. An endpoint failing for the whole failure window is disabled
// with an event. Every request: 10 s at most, connection included; no redirect followed; the
// answer's body read up to 64 KiB; TLS verified against the system CA store; the addresses a
// name resolves to checked at send time (public unicast only, unless an operator allowed a
// private range). These threads are the only ones that wait on receivers: the API's blocking
// pool and the verification path never do. Nothing here logs a secret, a signature or a body.
// The request itself goes out through a postback_transport (HTTP is not this layer's).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "domain/net.hpp"
#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/webhook_store.hpp"

namespace keyledger::services {

class active_key_view;
class endpoint_service;
class webhook_endpoint_view;

struct sender_options {
  std::size_t threads = 2;
  /// How often an idle sender looks for due deliveries (wake() makes it look at once).
  std::chrono::milliseconds poll_interval{1'000};
  /// How long a claim holds a delivery: longer than any attempt, so that only a sender that
  /// died mid-delivery loses it.
  std::chrono::milliseconds lease{60'000};
  std::chrono::seconds failure_window{5 * 24 * 3600};
  std::size_t claim_batch = 8;
};

/// One signed POST, as the sender hands it to the transport.
struct postback_request {
  std::string url;  ///< as the endpoint or key holds it (domain::valid_postback_url)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// What one attempt gave: the HTTP status if an answer came (any status), the outcome, and a
/// short public error sentence (never a header value or a body).
struct postback_response {
  std::optional<unsigned> status;
  infra::attempt_outcome outcome = infra::attempt_outcome::network;
  std::string error;
};

/// Sends one postback and waits for the answer (the timeout, redirects, the SSRF check and TLS
/// are the transport's: services/http/webhooks/postback_transport). Called on a sender thread.
using postback_transport = std::function<postback_response(const postback_request&)>;

struct sender_dependencies {
  const webhook_endpoint_view& endpoints;
  const active_key_view& keys;
  const endpoint_service& service;
  const domain::clock& clock;
  domain::random_source& random;  ///< jitter only; used under a lock
  postback_transport send;
  /// Each thread's own stores.
  std::function<std::unique_ptr<infra::webhook_store>()> make_webhook_store;
  std::function<std::unique_ptr<infra::event_store>()> make_event_store;
};

/// Whether a postback may be sent to `address` (canonical text from the resolver): public
/// unicast, or in one of `allowed` (KEYLEDGER_POSTBACK_ALLOW_PRIVATE).
bool postback_address_allowed(std::string_view address, const std::vector<domain::cidr>& allowed);

class postback_sender {
 public:
  postback_sender(sender_dependencies deps, sender_options options);
  ~postback_sender();  ///< stops
  postback_sender(const postback_sender&) = delete;
  postback_sender& operator=(const postback_sender&) = delete;

  void start();
  /// Asks every thread to stop after the request it is sending (at most `timeout`), and joins.
  void stop();
  /// New deliveries were queued: idle senders look now.
  void wake();

  /// One round on the caller's thread with `store` (tests): claims and sends what is due.
  /// Returns how many deliveries were attempted or dropped.
  std::size_t run_once(infra::webhook_store& store, infra::event_store& events);

 private:
  void run();
  void deliver(infra::webhook_store& store, infra::event_store& events,
               const infra::claimed_delivery& d);
  double jitter();

  sender_dependencies deps_;
  sender_options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t wakes_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace keyledger::services

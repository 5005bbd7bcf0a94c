#include "services/app/housekeeping.hpp"

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "services/app/rate_limiter.hpp"

namespace keyledger::services {

housekeeping::housekeeping(
    std::function<std::unique_ptr<infra::telemetry_store>()> telemetry_factory,
    std::function<std::unique_ptr<infra::idempotency_store>()> idempotency_factory,
    std::function<std::unique_ptr<infra::people_store>()> people_factory, rate_limiter& limiter,
    const domain::clock& clock, options opts)
    : telemetry_factory_(std::move(telemetry_factory)),
      idempotency_factory_(std::move(idempotency_factory)),
      people_factory_(std::move(people_factory)),
      limiter_(limiter),
      clock_(clock),
      options_(opts),
      worker_("housekeeping", {opts.interval, true}, [this] {
        // The stores reconnect by themselves; one that could not be opened is tried next time.
        if (!telemetry_) telemetry_ = telemetry_factory_();
        if (!idempotency_) idempotency_ = idempotency_factory_();
        if (!people_) people_ = people_factory_();
        run_once(*telemetry_, *idempotency_, *people_);
      }) {}

housekeeping::~housekeeping() { stop(); }

void housekeeping::run_once(infra::telemetry_store& telemetry,
                            infra::idempotency_store& idempotency, infra::people_store& people) {
  const auto now = clock_.now();
  const auto micros = domain::to_micros;
  limiter_.sweep(now);
  const auto requests = telemetry.purge_request_log(micros(now - options_.request_log_retention));
  const auto failures = telemetry.purge_auth_failures(micros(now - options_.request_log_retention));
  const auto responses = idempotency.purge(micros(now - options_.idempotency_retention));
  const auto people_rows =
      people.purge(micros(now - options_.sessions.idle_timeout),
                   micros(now - options_.sessions.absolute_timeout), micros(now));
  if (requests + failures + responses + people_rows > 0) {
    infra::log(infra::log_level::info, "housekeeping",
               {{"request_log_rows_deleted", std::to_string(requests)},
                {"auth_failure_rows_deleted", std::to_string(failures)},
                {"idempotent_responses_deleted", std::to_string(responses)},
                {"session_and_invitation_rows_deleted", std::to_string(people_rows)}});
  }
}

void housekeeping::start() { worker_.start(); }

void housekeeping::stop() { worker_.stop(); }

}  // namespace keyledger::services

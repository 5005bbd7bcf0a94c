#include "services/app/audit/audit_jobs.hpp"

#include "infra/core/error.hpp"
#include "services/app/audit/audit_log_writer.hpp"
#include "services/app/audit/audit_monitor.hpp"

namespace keyledger::services {

audit_jobs::audit_jobs(audit_log_writer& writer, audit_monitor& monitor, const audit_proofs& proofs,
                       std::function<std::unique_ptr<infra::audit_store>()> open_store,
                       std::chrono::milliseconds interval)
    : writer_(writer),
      monitor_(monitor),
      proofs_(proofs),
      open_store_(std::move(open_store)),
      worker_("audit_log", {interval, true}, [this] { run_once(); }) {}

audit_jobs::~audit_jobs() { stop(); }

void audit_jobs::run_once() {
  if (!store_) store_ = open_store_();
  try {
    writer_.run_once(*store_);
    monitor_.check_checkpoints(*store_, proofs_);
  } catch (const infra::error&) {
    store_.reset();  // the connection may be broken: a fresh one next pass
    throw;           // logged by the worker
  }
}

void audit_jobs::start() { worker_.start(); }
void audit_jobs::stop() { worker_.stop(); }

}  // namespace keyledger::services

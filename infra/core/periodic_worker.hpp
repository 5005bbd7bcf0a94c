#pragma once

// The one background loop: a thread that runs a pass, waits an interval (or until woken), and
// runs it again, until stopped. The expiry job, housekeeping and the usage recorder's flush all
// run on one of these; so will the postback dispatcher's retries and the checkpoint signer.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace keyledger::infra {

class periodic_worker {
 public:
  struct options {
    std::chrono::milliseconds interval{1000};
    /// true: the first pass runs as soon as the thread starts; false: after one interval.
    bool first_pass_at_once = true;
  };

  /// `pass` runs on the worker's thread only. An exception escaping it is logged under `name`
  /// (`<name>_failed`, its what()) and the next pass runs as usual.
  periodic_worker(std::string name, options opts, std::function<void()> pass);
  ~periodic_worker();  ///< stop()s
  periodic_worker(const periodic_worker&) = delete;
  periodic_worker& operator=(const periodic_worker&) = delete;

  /// Starts the thread. Does nothing when it runs already or was stopped.
  void start();
  /// Runs the next pass now instead of at the end of the interval (thread-safe, cheap).
  void wake();
  /// Wakes the thread, lets a running pass finish and joins. Idempotent; returns whether the
  /// thread had been started (false: no pass ever ran).
  bool stop();

 private:
  void run();

  std::string name_;
  options options_;
  std::function<void()> pass_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace keyledger::infra

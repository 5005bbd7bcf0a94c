#include "infra/pg/pg_subscription.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

constexpr const char* events_channel = "keyledger_events";
constexpr std::size_t read_batch = 1000;
constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{5000};

// Notes that a NOTIFY arrived; the payload (a head seq) is only a hint, so it is ignored.
class wake_receiver final : public pqxx::notification_receiver {
 public:
  explicit wake_receiver(pqxx::connection_base& c)
      : pqxx::notification_receiver(c, events_channel) {}
  void operator()(const std::string&, int) override { notified_ = true; }
  bool take() noexcept { return std::exchange(notified_, false); }

 private:
  bool notified_ = false;
};

// A log-safe description: infra errors and pqxx errors through the one translation (no row
// values); anything else a handler threw by its what().
std::string describe(const std::exception& e) {
  if (dynamic_cast<const error*>(&e) != nullptr) return e.what();
  if (dynamic_cast<const pqxx::failure*>(&e) == nullptr) return e.what();
  try {
    try {
      throw;
    } catch (...) {
      pg_detail::rethrow_translated("subscription");
    }
  } catch (const error& translated) {
    return translated.what();
  } catch (...) {
  }
  return "unknown failure";
}

constexpr const char* stmt_load_checkpoint = "subscription_load_checkpoint";
constexpr const char* stmt_save_checkpoint = "subscription_save_checkpoint";

}  // namespace

struct pg_subscription::impl {
  std::string conninfo;
  handler on_event;
  log_consumer* consumer = nullptr;  ///< set instead of on_event by the consumer constructor
  bool durable = false;
  bool checkpoint_loaded = false;
  std::uint64_t saved = 0;  ///< the durable checkpoint as last saved
  std::chrono::milliseconds poll_interval;
  std::atomic<std::uint64_t> checkpoint{0};

  // Connection state: used by catch_up() before start() and by the thread after, never both.
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<wake_receiver> receiver;

  std::thread thread;
  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};
  // Self-pipe: stop() writes a byte so a wait on the socket returns at once.
  int wake_fds[2] = {-1, -1};

  impl() {
    if (::pipe2(wake_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw error(errc::internal, "pg_subscription: pipe2 failed");
    }
  }
  ~impl() {
    for (const int fd : wake_fds) {
      if (fd >= 0) ::close(fd);
    }
  }

  void disconnect() noexcept {
    // The receiver unregisters from (and may UNLISTEN on) its connection: destroy it first.
    receiver.reset();
    conn.reset();
  }

  // LISTEN before the first read, so nothing committed after that read goes unnoticed.
  void ensure_connected() {
    if (conn) return;
    conn = pg_detail::open_event_connection(conninfo);
    receiver = std::make_unique<wake_receiver>(*conn);
    if (durable) {
      conn->prepare(stmt_load_checkpoint,
                    "SELECT seq FROM consumer_checkpoints WHERE consumer = $1");
      conn->prepare(stmt_save_checkpoint,
                    "INSERT INTO consumer_checkpoints (consumer, seq) VALUES ($1, $2) "
                    "ON CONFLICT (consumer) DO UPDATE SET "
                    "seq = GREATEST(consumer_checkpoints.seq, EXCLUDED.seq), updated_at = now()");
      if (!checkpoint_loaded) {
        pqxx::nontransaction txn(*conn);
        const auto r = txn.exec_prepared(stmt_load_checkpoint, std::string(consumer->name()));
        if (!r.empty()) {
          const auto seq = r[0][0].as<std::int64_t>();
          checkpoint.store(static_cast<std::uint64_t>(std::max<std::int64_t>(seq, 0)));
        }
        saved = checkpoint.load();
        checkpoint_loaded = true;
      }
    }
  }

  void hand_on(const recorded_event& e) {
    if (consumer == nullptr) return on_event(e);
    if (consumer->wants(e)) consumer->apply(e);
  }

  // After a batch is handed on: the durable checkpoint follows.
  void save_checkpoint() {
    const auto at = checkpoint.load();
    if (!durable || at == saved) return;
    pqxx::nontransaction txn(*conn);
    txn.exec_prepared(stmt_save_checkpoint, std::string(consumer->name()),
                      static_cast<std::int64_t>(at));
    saved = at;
  }

  // Reads and hands on every event after the checkpoint, in batches, until the head.
  void drain() {
    for (;;) {
      if (stop_requested.load()) return;
      std::vector<recorded_event> events;
      {
        pqxx::nontransaction txn(*conn);
        events = pg_detail::read_all(txn, checkpoint.load(), read_batch);
      }
      for (const recorded_event& e : events) {
        if (stop_requested.load()) return save_checkpoint();
        hand_on(e);
        checkpoint.store(e.global_seq);
      }
      save_checkpoint();
      if (events.size() < read_batch) return;
    }
  }

  // Waits until a notification arrives, stop() is called or the poll interval passes.
  void wait_for_wake() {
    // Notifications that arrived with earlier query results are already buffered by libpq.
    conn->get_notifs();
    if (receiver->take()) return;
    pollfd fds[2] = {{conn->sock(), POLLIN, 0}, {wake_fds[0], POLLIN, 0}};
    const int rc = ::poll(fds, 2, static_cast<int>(poll_interval.count()));
    if (rc < 0 && errno != EINTR) throw error(errc::internal, "pg_subscription: poll failed");
    // Consumes what arrived; throws broken_connection when the server went away.
    if (rc > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) conn->get_notifs();
    receiver->take();
  }

  // Sleeps up to `d`, returning early when stop() is called.
  void sleep_unless_stopped(std::chrono::milliseconds d) {
    pollfd fd{wake_fds[0], POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(d.count()));
  }

  // After any failure the connection may be unusable: drop it, wait, and let the loop reconnect,
  // re-LISTEN and resume at the checkpoint (the failed event is handed on again).
  void recover(const std::string& detail, std::chrono::milliseconds& backoff) {
    disconnect();
    const std::string backoff_ms = std::to_string(backoff.count());
    const std::string at = std::to_string(checkpoint.load());
    log(log_level::warn, "pg_subscription_retry",
        {{"detail", detail}, {"checkpoint", at}, {"backoff_ms", backoff_ms}});
    sleep_unless_stopped(backoff);
    backoff = std::min(backoff * 2, max_backoff);
  }

  void run() {
    auto backoff = first_backoff;
    while (!stop_requested.load()) {
      try {
        ensure_connected();
        drain();
        backoff = first_backoff;
        if (stop_requested.load()) break;
        wait_for_wake();
      } catch (const std::exception& e) {
        recover(describe(e), backoff);
      } catch (...) {
        recover("non-standard exception", backoff);
      }
    }
    disconnect();
  }
};

pg_subscription::pg_subscription(std::string conninfo, std::uint64_t after_seq, handler on_event,
                                 std::chrono::milliseconds poll_interval)
    : impl_(std::make_unique<impl>()) {
  impl_->conninfo = std::move(conninfo);
  impl_->checkpoint.store(after_seq);
  impl_->on_event = std::move(on_event);
  // poll(2) takes an int of milliseconds.
  impl_->poll_interval =
      std::clamp(poll_interval, std::chrono::milliseconds(1), std::chrono::milliseconds(3600000));
}

pg_subscription::pg_subscription(std::string conninfo, log_consumer& consumer, options opts)
    : pg_subscription(std::move(conninfo), 0, handler{}, opts.poll_interval) {
  impl_->consumer = &consumer;
  impl_->durable = opts.durable;
}

pg_subscription::~pg_subscription() { stop(); }

void pg_subscription::catch_up() {
  if (impl_->running.load()) {
    throw error(errc::internal, "pg_subscription::catch_up while the thread runs");
  }
  try {
    impl_->ensure_connected();
    impl_->drain();
  } catch (...) {
    impl_->disconnect();
    pg_detail::rethrow_translated("subscription catch_up");
  }
}

void pg_subscription::start() {
  if (impl_->running.exchange(true)) throw error(errc::internal, "pg_subscription already started");
  impl_->stop_requested.store(false);
  // Drop a stale wake-up byte from an earlier stop().
  char buf[16];
  while (::read(impl_->wake_fds[0], buf, sizeof buf) > 0) {
  }
  impl_->thread = std::thread([this] { impl_->run(); });
}

void pg_subscription::stop() {
  if (!impl_->running.load()) return;
  impl_->stop_requested.store(true);
  const char byte = 1;
  [[maybe_unused]] const auto n = ::write(impl_->wake_fds[1], &byte, 1);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->running.store(false);
}

std::uint64_t pg_subscription::checkpoint() const noexcept { return impl_->checkpoint.load(); }

}  // namespace keyledger::infra

#include "infra/pg/pg_subscription.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "infra/pg/pg_detail.hpp"

namespace keyledger::infra {

namespace {

constexpr const char* events_channel = "keyledger_events";
constexpr std::size_t read_batch = 1000;
// catch_up() reads bigger batches: a start-up reads the whole log, so fewer round trips count.
constexpr std::size_t catch_up_batch = 5000;

// For the catch-up's fetching thread (a thread of its own per batch): SCHED_BATCH, so that its
// wake-ups, one per arrival of the next batch's rows from PostgreSQL, do not preempt the thread
// applying the current batch. On a shared core the rows then gather in the socket and are read
// in large pieces, instead of a context switch for each: a million-key start-up took 10-15 %
// less CPU and wall time, pinned to one core or not (docs/performance.md). Best effort: on
// failure the thread keeps the normal policy.
void yield_on_wakeups() noexcept {
  sched_param none{};
  (void)::sched_setscheduler(0, SCHED_BATCH, &none);
}

// After a failure with no standby left the first reconnection is immediate (a new backend
// takes 25-40 ms on a loaded 2-core machine, not a poll interval). Only repeated failures back
// off, and by at most a second, so that writes (which wait for this node's view) work again
// within about a second of the database accepting connections after an outage.
constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{1000};
// What pg_stat_activity shows for this connection unless the conninfo names one: an operator
// (or a test) can find the LISTEN backend among the server's connections.
constexpr const char* application_name = "keyledger_subscription";

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

  // A connection that LISTENs. The receiver unregisters from (and may UNLISTEN on) its
  // connection: it is destroyed first.
  struct listener {
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<wake_receiver> receiver;
    explicit operator bool() const noexcept { return conn != nullptr; }
    void reset() noexcept {
      receiver.reset();
      conn.reset();
    }
  };

  // Connection state: used by catch_up() before start() and by the thread after, never both.
  // `primary` reads and listens. `standby` (the thread's only) listens too and takes over at
  // once when the primary's connection is lost, so that a cut LISTEN connection costs one read
  // on a connection already open rather than a new backend; a new standby is opened after.
  listener primary;
  listener standby;
  // A new standby is opened on a helper thread (joined before the next one and at stop): opening a
  // backend takes tens of milliseconds, during which the subscription thread must go on applying
  // what the primary brings.
  std::future<listener> standby_opening;
  std::thread standby_helper;
  std::chrono::steady_clock::time_point standby_retry_at{};

  std::thread thread;
  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};
  // Self-pipe: stop() writes a byte so a wait on the socket returns at once.
  int wake_fds[2] = {-1, -1};
  // The standby's helper writes a byte here when it is done, so that the thread takes the new
  // standby at once rather than at its next wake-up.
  int standby_fds[2] = {-1, -1};

  impl() {
    if (::pipe2(wake_fds, O_CLOEXEC | O_NONBLOCK) != 0 ||
        ::pipe2(standby_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      close_pipes();
      throw error(errc::internal, "pg_subscription: pipe2 failed");
    }
  }
  ~impl() { close_pipes(); }

  void close_pipes() noexcept {
    for (int* fds : {wake_fds, standby_fds}) {
      for (int i = 0; i < 2; ++i) {
        if (fds[i] >= 0) ::close(fds[i]);
        fds[i] = -1;
      }
    }
  }

  void disconnect() noexcept {
    standby.reset();
    primary.reset();
  }

  // Waits for a standby being opened and closes it (stop).
  void abandon_standby_opening() noexcept {
    if (standby_opening.valid()) {
      try {
        standby_opening.get().reset();
      } catch (...) {
      }
    }
    if (standby_helper.joinable()) standby_helper.join();
  }

  // A new LISTENing connection with the statements a primary needs (a standby may become one).
  listener open_listener() {
    listener l;
    l.conn = pg_detail::open_event_connection(conninfo);
    {
      pqxx::nontransaction txn(*l.conn);
      txn.exec(std::string("SELECT CASE WHEN current_setting('application_name') = '' THEN "
                           "set_config('application_name', '") +
               application_name + "', false) END");
    }
    l.receiver = std::make_unique<wake_receiver>(*l.conn);
    if (durable) {
      l.conn->prepare(stmt_load_checkpoint,
                      "SELECT seq FROM consumer_checkpoints WHERE consumer = $1");
      l.conn->prepare(stmt_save_checkpoint,
                      "INSERT INTO consumer_checkpoints (consumer, seq) VALUES ($1, $2) "
                      "ON CONFLICT (consumer) DO UPDATE SET "
                      "seq = GREATEST(consumer_checkpoints.seq, EXCLUDED.seq), updated_at = now()");
    }
    return l;
  }

  // LISTEN before the first read, so nothing committed after that read goes unnoticed.
  void ensure_connected() {
    if (primary) return;
    primary = open_listener();
    if (durable && !checkpoint_loaded) {
      pqxx::nontransaction txn(*primary.conn);
      const auto r = txn.exec_prepared(stmt_load_checkpoint, std::string(consumer->name()));
      if (!r.empty()) {
        const auto seq = r[0][0].as<std::int64_t>();
        checkpoint.store(static_cast<std::uint64_t>(std::max<std::int64_t>(seq, 0)));
      }
      saved = checkpoint.load();
      checkpoint_loaded = true;
    }
  }

  // Starts opening a standby when there is none (after a failure to, at most once per
  // max_backoff) and takes it once open. A failure is logged and leaves the primary alone.
  void ensure_standby() {
    if (standby) return;
    if (standby_opening.valid()) {
      if (standby_opening.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
      try {
        standby = standby_opening.get();
      } catch (const std::exception& e) {
        standby_retry_at = std::chrono::steady_clock::now() + max_backoff;
        log(log_level::warn, "pg_subscription_standby_failed", {{"detail", describe(e)}});
      }
      return;
    }
    if (std::chrono::steady_clock::now() < standby_retry_at) return;
    if (standby_helper.joinable()) standby_helper.join();
    std::promise<listener> opened;
    standby_opening = opened.get_future();
    standby_helper = std::thread([this, opened = std::move(opened)]() mutable {
      try {
        opened.set_value(open_listener());
      } catch (...) {
        opened.set_exception(std::current_exception());
      }
      // After the value is set, so that the woken thread finds it ready.
      const char byte = 1;
      [[maybe_unused]] const auto n = ::write(standby_fds[1], &byte, 1);
    });
  }

  // The primary's connection failed: the standby, already listening, becomes the primary and
  // the caller reads at once from the checkpoint. False when there is no standby.
  bool promote_standby(const std::string& detail) {
    if (!standby) return false;
    primary.reset();
    primary = std::move(standby);
    standby = listener{};
    log(log_level::warn, "pg_subscription_failover",
        {{"detail", detail}, {"checkpoint", std::to_string(checkpoint.load())}});
    return true;
  }

  void hand_on(const recorded_event& e) {
    if (consumer == nullptr) return on_event(e);
    if (consumer->wants(e)) consumer->apply(e);
  }

  // After a batch is handed on: the durable checkpoint follows.
  void save_checkpoint() {
    const auto at = checkpoint.load();
    if (!durable || at == saved) return;
    pqxx::nontransaction txn(*primary.conn);
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
        pqxx::nontransaction txn(*primary.conn);
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

  // What catch_up() runs: drain() with the next batch read (on the primary connection, by a
  // helper thread) while this thread hands on the current one, so that at start-up PostgreSQL
  // sending the rows and libpq/parse_event decoding them overlap with the consumers applying
  // them. The connection is used by one thread at a time: the helper from std::async until its
  // future is ready, then this thread (save_checkpoint). A future from std::async waits for its
  // task when destroyed, so an exception from a consumer leaves the connection idle too.
  //
  // The helper only fetches the rows; this thread parses them, one at a time, into one event
  // whose strings keep their buffers: no allocation per event, and none made on one thread and
  // freed on the other (which bypasses malloc's per-thread caches).
  void drain_prefetching() {
    const auto read_after = [this](std::uint64_t after) {
      pqxx::nontransaction txn(*primary.conn);
      return pg_detail::read_all_rows(txn, after, catch_up_batch);
    };
    pqxx::result rows = read_after(checkpoint.load());
    recorded_event e;
    for (;;) {
      if (stop_requested.load()) return;
      const bool more = rows.size() == catch_up_batch;
      std::future<pqxx::result> next;
      if (more) {
        pg_detail::parse_event_row_into(rows[rows.size() - 1], e);
        next = std::async(std::launch::async, [&read_after, after = e.global_seq] {
          yield_on_wakeups();
          return read_after(after);
        });
      }
      for (const auto& row : rows) {
        pg_detail::parse_event_row_into(row, e);
        hand_on(e);
        checkpoint.store(e.global_seq);
      }
      if (!more) return save_checkpoint();
      rows = next.get();  // a failed read throws here
      save_checkpoint();
    }
  }

  // Waits until a notification arrives (on either connection), stop() is called or the poll
  // interval passes. A lost standby is dropped here; a lost primary throws.
  void wait_for_wake() {
    // Notifications that arrived with earlier query results are already buffered by libpq.
    primary.conn->get_notifs();
    if (primary.receiver->take()) return;
    // poll(2) ignores a negative descriptor: no standby, nothing to watch there.
    pollfd fds[4] = {{primary.conn->sock(), POLLIN, 0},
                     {wake_fds[0], POLLIN, 0},
                     {standby ? standby.conn->sock() : -1, POLLIN, 0},
                     {standby_fds[0], POLLIN, 0}};
    const int rc = ::poll(fds, 4, static_cast<int>(poll_interval.count()));
    if (rc < 0 && errno != EINTR) throw error(errc::internal, "pg_subscription: poll failed");
    constexpr short readable = POLLIN | POLLERR | POLLHUP;
    if (rc > 0 && (fds[3].revents & POLLIN) != 0) {
      // A standby is open (or failed to open): the loop takes it before waiting again.
      char buf[16];
      while (::read(standby_fds[0], buf, sizeof buf) > 0) {
      }
    }
    if (rc > 0 && standby && (fds[2].revents & readable) != 0) {
      try {
        standby.conn->get_notifs();
        standby.receiver->take();
      } catch (const std::exception& e) {
        standby.reset();
        log(log_level::warn, "pg_subscription_standby_lost", {{"detail", describe(e)}});
      }
    }
    // Consumes what arrived; throws broken_connection when the server went away.
    if (rc > 0 && (fds[0].revents & readable) != 0) primary.conn->get_notifs();
    primary.receiver->take();
  }

  // Sleeps up to `d`, returning early when stop() is called.
  void sleep_unless_stopped(std::chrono::milliseconds d) {
    pollfd fd{wake_fds[0], POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(d.count()));
  }

  // After any failure the connection may be unusable: drop it, wait, and let the loop reconnect,
  // re-LISTEN and resume at the checkpoint (the failed event is handed on again).
  // `backoff` is zero after a success: the first retry is immediate.
  void recover(const std::string& detail, std::chrono::milliseconds& backoff) {
    disconnect();
    const std::string backoff_ms = std::to_string(backoff.count());
    const std::string at = std::to_string(checkpoint.load());
    log(log_level::warn, "pg_subscription_retry",
        {{"detail", detail}, {"checkpoint", at}, {"backoff_ms", backoff_ms}});
    if (backoff.count() > 0) sleep_unless_stopped(backoff);
    backoff = std::clamp(backoff * 2, first_backoff, max_backoff);
  }

  void run() {
    auto backoff = std::chrono::milliseconds(0);
    while (!stop_requested.load()) {
      try {
        ensure_connected();
        drain();
        backoff = std::chrono::milliseconds(0);
        if (stop_requested.load()) break;
        ensure_standby();
        wait_for_wake();
      } catch (const std::exception& e) {
        const bool lost =
            pg_detail::is_connection_failure(e) || (primary && !primary.conn->is_open());
        if (lost && promote_standby(describe(e))) continue;
        recover(describe(e), backoff);
      } catch (...) {
        recover("non-standard exception", backoff);
      }
    }
    abandon_standby_opening();
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
    impl_->drain_prefetching();
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

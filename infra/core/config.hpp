#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keyledger::infra {

/// Runtime configuration, from the environment:
///   DATABASE_URL            libpq connection string or URI (required by serve/migrate/bootstrap)
///   KEYLEDGER_LISTEN        host:port, default 127.0.0.1:8080 (port 0 = any free port)
///   KEYLEDGER_DATA_DIR      default ".local/"
///   KEYLEDGER_SECRET_FILE   server secret; default <data dir>/server.secret, made on first run
///   KEYLEDGER_IO_THREADS    default 2
///   KEYLEDGER_DB_THREADS    default 4 (one connection each)
///   KEYLEDGER_DB_QUEUE      default 256 (queued blocking jobs before 503)
///   KEYLEDGER_TRUSTED_PROXIES  comma-separated CIDRs whose X-Forwarded-For is believed
///                              (default none: the connection's address is the client's)
///   KEYLEDGER_EXPIRY_INTERVAL_MS  how often the expiry job runs, default 30000 (50-3600000)
///   KEYLEDGER_USAGE_FLUSH_MS      how often usage telemetry is written, default 1000 (10-60000)
///   KEYLEDGER_REQUEST_LOG_DAYS    request-log retention in days, default 30 (1-3650)
///   KEYLEDGER_ISSUER        the OAuth issuer URL (RFC 8414 2: https, no query or fragment;
///                           http only to a loopback host); default http://<listen address>
///   KEYLEDGER_OAUTH_AUDIENCE  `aud` of access tokens issued without a resource; default the
///                             issuer
///   KEYLEDGER_AUDIT_CHECKPOINT_EVENTS   a signed checkpoint every N events, default 1000
///                                       (1-1000000)
///   KEYLEDGER_AUDIT_CHECKPOINT_SECONDS  or every T seconds if the log grew, default 10 (1-86400)
///   KEYLEDGER_AUDIT_ORIGIN  the audit log's origin (its checkpoints' first line), used only when
///                           the log's checkpoint key is created; default keyledger/log_<random>
///   KEYLEDGER_LEAK_REPORTER_KEYS  the public keys that may sign leak reports (POST /v1/leaks):
///                           comma-separated `<key id>=<PEM file path>` or `<key id>=<inline PEM>`
///                           (parse_leak_reporter_keys); default none: the endpoint refuses
///   KEYLEDGER_POSTBACK_ALLOW_PRIVATE  comma-separated CIDRs that postbacks may be sent to
///                           although they are not public unicast (default none: loopback,
///                           private, link-local, metadata... addresses are refused)
///   KEYLEDGER_POSTBACK_THREADS  postback sender threads, default 2 (1-64)
///   KEYLEDGER_POSTBACK_TIMEOUT_MS  one delivery attempt, connection included, default 10000
///                           (100-10000)
///   KEYLEDGER_POSTBACK_POLL_MS  how often idle senders look for due deliveries, default 1000
///                           (10-60000; new deliveries wake them at once)
///   KEYLEDGER_POSTBACK_FAILURE_WINDOW_SECONDS  an endpoint failing this long is disabled,
///                           default 432000 = 5 days (1-2592000)
///   KEYLEDGER_POSTBACK_CA_FILE  a PEM file of the CAs postback receivers are verified against
///                           instead of the system store (a private CA); default the system
///
/// One public key that may sign leak reports: its identifier (GitHub's
/// Github-Public-Key-Identifier) and the PEM text, or the path of a file holding it.
struct leak_reporter_key {
  std::string key_id;
  std::string pem;       ///< inline PEM ("" when pem_file is set)
  std::string pem_file;  ///< path of a PEM file ("" when pem is set)
  bool operator==(const leak_reporter_key&) const = default;
};

struct config {
  std::string database_url;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = ".local/";
  std::string secret_file;  ///< empty: <data_dir>/server.secret
  std::size_t io_threads = 2;
  std::size_t db_threads = 4;
  std::size_t db_queue = 256;
  /// Group commit: the most appends of concurrent commands written in one transaction
  /// (KEYLEDGER_APPEND_BATCH; 1 = each append its own transaction).
  std::size_t append_batch = 64;
  std::vector<std::string> trusted_proxies;  ///< as written; services parse them as CIDRs
  std::size_t expiry_interval_ms = 30'000;
  std::size_t usage_flush_ms = 1'000;
  std::size_t request_log_days = 30;
  std::string issuer;          ///< empty: from the bound listen address
  std::string oauth_audience;  ///< empty: the issuer
  std::size_t audit_checkpoint_events = 1000;
  std::size_t audit_checkpoint_seconds = 10;
  std::string audit_origin;  ///< empty: a random one at the key's creation
  std::vector<leak_reporter_key> leak_reporter_keys;  ///< empty: leak reports are refused
  std::vector<std::string> postback_allow_private;     ///< as written; parsed as CIDRs later
  std::size_t postback_threads = 2;
  std::size_t postback_timeout_ms = 10'000;
  std::size_t postback_poll_ms = 1'000;
  std::size_t postback_failure_window_seconds = 5 * 24 * 3600;
  std::string postback_ca_file;  ///< empty: the system CA store
};

/// KEYLEDGER_LEAK_REPORTER_KEYS: entries separated by commas (whitespace around them ignored),
/// each `<key id>=<value>`. The key id is 1-128 of [A-Za-z0-9._:-] (GitHub's are 64 hex digits),
/// unique. The value is an inline PEM when it starts with "-----BEGIN" (a literal `\n` stands
/// for a line break, so it fits on one line), otherwise the path of a PEM file. Throws
/// infra::error(errc::config) naming the entry's position or key id, never its value.
std::vector<leak_reporter_key> parse_leak_reporter_keys(std::string_view text);

/// Whether `url` may be an OAuth issuer: https://host[:port][/path] (no query, no fragment, no
/// user info, no trailing slash), or the same with http to 127.0.0.1, [::1] or localhost.
bool valid_issuer(const std::string& url);

/// Reads the variables above. Throws infra::error(errc::config) naming the bad variable.
config load_config_from_env();

/// cfg.database_url; throws infra::error(errc::config) when DATABASE_URL is not set.
const std::string& require_database_url(const config& cfg);

/// Parses "host:port" or "[v6]:port". Throws infra::error(errc::config).
void parse_listen(const std::string& text, std::string& host, std::uint16_t& port);

}  // namespace keyledger::infra

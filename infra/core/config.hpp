#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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
struct config {
  std::string database_url;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = ".local/";
  std::string secret_file;  ///< empty: <data_dir>/server.secret
  std::size_t io_threads = 2;
  std::size_t db_threads = 4;
  std::size_t db_queue = 256;
  std::vector<std::string> trusted_proxies;  ///< as written; services parse them as CIDRs
  std::size_t expiry_interval_ms = 30'000;
  std::size_t usage_flush_ms = 1'000;
  std::size_t request_log_days = 30;
  std::string issuer;          ///< empty: from the bound listen address
  std::string oauth_audience;  ///< empty: the issuer
  std::size_t audit_checkpoint_events = 1000;
  std::size_t audit_checkpoint_seconds = 10;
  std::string audit_origin;  ///< empty: a random one at the key's creation
};

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

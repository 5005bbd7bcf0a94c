#include "infra/core/config.hpp"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "infra/core/error.hpp"

namespace keyledger::infra {

namespace {

constexpr std::size_t max_listen_length = 300;

[[noreturn]] void fail(const std::string& why) { throw error(errc::config, why); }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Unset and set-to-empty both mean "use the default": compose files and shells often
// export empty variables they meant to leave out.
std::optional<std::string> read_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// Digits only (no sign, space or suffix), within [lo, hi].
std::optional<std::uint64_t> parse_bounded(std::string_view text, std::uint64_t lo,
                                           std::uint64_t hi) noexcept {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    // Stop before overflow can wrap a huge number back into range.
    if (value > hi) return std::nullopt;
  }
  if (value < lo) return std::nullopt;
  return value;
}

std::size_t read_count(const char* name, std::size_t fallback, std::uint64_t lo, std::uint64_t hi) {
  const auto text = read_env(name);
  if (!text) return fallback;
  const auto value = parse_bounded(*text, lo, hi);
  if (!value) {
    fail(std::string(name) + ": must be a whole number from " + std::to_string(lo) + " to " +
         std::to_string(hi));
  }
  return static_cast<std::size_t>(*value);
}

// A DNS name ([A-Za-z0-9-] labels of 1-63, no leading/trailing '-') or a dotted IPv4 address.
bool valid_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::string_view last_label;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    const std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!is_alnum(c) && c != '-') return false;
    }
    last_label = label;
    start = end + 1;
  }
  // A name ending in a numeric label is meant as IPv4: then it must be a real one.
  bool numeric = true;
  for (const char c : last_label) numeric = numeric && is_digit(c);
  if (numeric) {
    in_addr addr{};
    return ::inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1;
  }
  return true;
}

bool valid_ipv6(std::string_view host) {
  in6_addr addr{};
  return !host.empty() && ::inet_pton(AF_INET6, std::string(host).c_str(), &addr) == 1;
}

}  // namespace

void parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  if (text.empty()) fail("empty; expected host:port or [v6]:port");
  if (text.size() > max_listen_length) fail("too long; expected host:port or [v6]:port");

  std::string_view view = text;
  std::string_view host_part;
  std::string_view port_part;
  if (view.front() == '[') {
    const std::size_t close = view.find(']');
    if (close == std::string_view::npos) fail("missing ']' after an IPv6 address");
    host_part = view.substr(1, close - 1);
    const std::string_view rest = view.substr(close + 1);
    if (rest.empty() || rest.front() != ':') fail("expected ':port' after ']'");
    port_part = rest.substr(1);
    if (!valid_ipv6(host_part)) fail("not a valid IPv6 address inside [ ]");
  } else {
    const std::size_t colon = view.rfind(':');
    if (colon == std::string_view::npos) fail("missing ':port'; expected host:port");
    host_part = view.substr(0, colon);
    port_part = view.substr(colon + 1);
    if (host_part.find(':') != std::string_view::npos) {
      fail("an IPv6 address must be written in brackets: [v6]:port");
    }
    if (!valid_hostname(host_part)) fail("not a valid host name or IPv4 address");
  }

  // Port 0 is allowed on purpose: it asks the kernel for any free port (tests use it).
  const auto value = port_part.size() <= 5 ? parse_bounded(port_part, 0, 65535) : std::nullopt;
  if (!value) fail("port must be a whole number from 0 to 65535");

  host.assign(host_part);
  port = static_cast<std::uint16_t>(*value);
}

const std::string& require_database_url(const config& cfg) {
  if (cfg.database_url.empty()) {
    throw error(errc::config, "DATABASE_URL is not set (a libpq connection string or URI)");
  }
  return cfg.database_url;
}

bool valid_issuer(const std::string& url) {
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) return false;
  const auto rest = std::string_view(url).substr(https ? 8 : 7);
  if (rest.empty() || url.back() == '/') return false;
  for (const char ch : rest) {
    if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '@' || ch == '\\') {
      return false;
    }
  }
  const auto authority = rest.substr(0, rest.find('/'));
  if (authority.empty()) return false;
  if (https) return true;
  // Plain http only where nobody else can listen: the loopback interface.
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "127.0.0.1" || host == "[::1]" || host == "localhost";
}

namespace {

/// Comma-separated entries, spaces around each trimmed, empty ones dropped; the services layer
/// validates each (as a CIDR, ...).
std::vector<std::string> split_list(std::string_view rest) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

std::vector<leak_reporter_key> parse_leak_reporter_keys(std::string_view text) {
  constexpr std::string_view variable = "KEYLEDGER_LEAK_REPORTER_KEYS: ";
  constexpr std::string_view pem_start = "-----BEGIN";
  auto trim = [](std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
      s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  };
  std::vector<leak_reporter_key> keys;
  std::size_t position = 0;
  while (true) {
    const auto comma = text.find(',');
    const auto entry = trim(text.substr(0, comma));
    ++position;
    const std::string where = "entry " + std::to_string(position);
    const auto equals = entry.find('=');
    if (entry.empty() || equals == std::string_view::npos) {
      fail(std::string(variable) + where + " must be <key id>=<PEM file or inline PEM>");
    }
    leak_reporter_key key;
    key.key_id = std::string(trim(entry.substr(0, equals)));
    const bool id_ok = !key.key_id.empty() && key.key_id.size() <= 128 &&
                       std::all_of(key.key_id.begin(), key.key_id.end(), [](char ch) {
                         return is_alnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-';
                       });
    if (!id_ok)
      fail(std::string(variable) + where + ": the key id must be 1-128 of [A-Za-z0-9._:-]");
    for (const auto& other : keys) {
      if (other.key_id == key.key_id) {
        fail(std::string(variable) + "key id " + key.key_id + " is given twice");
      }
    }
    const auto value = trim(entry.substr(equals + 1));
    if (value.empty()) fail(std::string(variable) + "key id " + key.key_id + " has no key");
    if (value.starts_with(pem_start)) {
      // One line in an environment variable: "\n" stands for a line break.
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size() && value[i + 1] == 'n') {
          key.pem.push_back('\n');
          ++i;
        } else {
          key.pem.push_back(value[i]);
        }
      }
    } else {
      key.pem_file = std::string(value);
    }
    keys.push_back(std::move(key));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return keys;
}

config load_config_from_env() {
  config c;
  // Never echo DATABASE_URL in an error: it may carry a password.
  if (auto url = read_env("DATABASE_URL")) c.database_url = std::move(*url);

  if (const auto listen = read_env("KEYLEDGER_LISTEN")) {
    try {
      parse_listen(*listen, c.listen_host, c.listen_port);
    } catch (const error& e) {
      fail(std::string("KEYLEDGER_LISTEN: ") + e.what());
    }
  }

  if (auto dir = read_env("KEYLEDGER_DATA_DIR")) c.data_dir = std::move(*dir);
  if (auto file = read_env("KEYLEDGER_SECRET_FILE")) c.secret_file = std::move(*file);

  c.io_threads = read_count("KEYLEDGER_IO_THREADS", c.io_threads, 1, 64);
  c.db_threads = read_count("KEYLEDGER_DB_THREADS", c.db_threads, 1, 256);
  c.db_queue = read_count("KEYLEDGER_DB_QUEUE", c.db_queue, 1, 100000);
  c.append_batch = read_count("KEYLEDGER_APPEND_BATCH", c.append_batch, 1, 1024);
  c.expiry_interval_ms = read_count("KEYLEDGER_EXPIRY_INTERVAL_MS", c.expiry_interval_ms, 50,
                                    3'600'000);
  c.usage_flush_ms = read_count("KEYLEDGER_USAGE_FLUSH_MS", c.usage_flush_ms, 10, 60'000);
  c.request_log_days = read_count("KEYLEDGER_REQUEST_LOG_DAYS", c.request_log_days, 1, 3650);
  if (auto issuer = read_env("KEYLEDGER_ISSUER")) {
    if (!valid_issuer(*issuer)) {
      fail("KEYLEDGER_ISSUER: must be an https URL without query, fragment or trailing slash "
           "(http only to a loopback host)");
    }
    c.issuer = std::move(*issuer);
  }
  if (auto audience = read_env("KEYLEDGER_OAUTH_AUDIENCE")) {
    const bool printable = std::all_of(audience->begin(), audience->end(),
                                       [](char ch) { return ch > 0x20 && ch < 0x7f; });
    if (audience->empty() || audience->size() > 2048 || !printable ||
        audience->find(':') == std::string::npos) {
      fail("KEYLEDGER_OAUTH_AUDIENCE: must be an absolute URI");
    }
    c.oauth_audience = std::move(*audience);
  }
  c.audit_checkpoint_events =
      read_count("KEYLEDGER_AUDIT_CHECKPOINT_EVENTS", c.audit_checkpoint_events, 1, 1'000'000);
  c.audit_checkpoint_seconds =
      read_count("KEYLEDGER_AUDIT_CHECKPOINT_SECONDS", c.audit_checkpoint_seconds, 1, 86'400);
  if (auto origin = read_env("KEYLEDGER_AUDIT_ORIGIN")) {
    // A signed-note key name: printable ASCII here, no space, no '+'.
    const bool ok = !origin->empty() && origin->size() <= 200 &&
                    std::all_of(origin->begin(), origin->end(),
                                [](char ch) { return ch > 0x20 && ch < 0x7f && ch != '+'; });
    if (!ok) fail("KEYLEDGER_AUDIT_ORIGIN: must be printable ASCII without spaces or '+'");
    c.audit_origin = std::move(*origin);
  }
  if (const auto reporters = read_env("KEYLEDGER_LEAK_REPORTER_KEYS")) {
    c.leak_reporter_keys = parse_leak_reporter_keys(*reporters);
  }
  if (const auto proxies = read_env("KEYLEDGER_TRUSTED_PROXIES")) {
    c.trusted_proxies = split_list(*proxies);
  }
  if (const auto allowed = read_env("KEYLEDGER_POSTBACK_ALLOW_PRIVATE")) {
    c.postback_allow_private = split_list(*allowed);
  }
  c.postback_threads = read_count("KEYLEDGER_POSTBACK_THREADS", c.postback_threads, 1, 64);
  c.postback_timeout_ms =
      read_count("KEYLEDGER_POSTBACK_TIMEOUT_MS", c.postback_timeout_ms, 100, 10'000);
  c.postback_poll_ms = read_count("KEYLEDGER_POSTBACK_POLL_MS", c.postback_poll_ms, 10, 60'000);
  c.postback_failure_window_seconds =
      read_count("KEYLEDGER_POSTBACK_FAILURE_WINDOW_SECONDS", c.postback_failure_window_seconds,
                 1, 30 * 24 * 3600);
  if (auto ca = read_env("KEYLEDGER_POSTBACK_CA_FILE")) c.postback_ca_file = std::move(*ca);
  return c;
}

}  // namespace keyledger::infra

// Plumbing shared by the endpoints: bodies, the pool, the key object, client addresses.
#include <algorithm>
#include <cctype>
#include <string>

#include "domain/policy.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"
#include "services/http/api.hpp"
#include "services/http/error_table.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services {
namespace http {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void optional_time(infra::json_writer& w, std::string_view name,
                   const std::optional<domain::timestamp>& t) {
  w.key(name);
  if (t) {
    w.string(domain::format_timestamp(*t));
  } else {
    w.null();
  }
}

void optional_text(infra::json_writer& w, std::string_view name, std::string_view text) {
  w.key(name);
  if (text.empty()) {
    w.null();
  } else {
    w.string(text);
  }
}

}  // namespace

std::optional<std::string_view> call::query_value(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view presented_key(const infra::http_request& req) {
  auto header = trim(req.header("authorization"));
  if (header.size() > 7 && iequals(header.substr(0, 7), "bearer ")) header = trim(header.substr(7));
  return header;
}

std::string_view session_cookie(const infra::http_request& req) {
  for (const auto& [name, value] : req.headers) {
    if (!iequals(name, "cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto semi = std::min(rest.find(';'), rest.size());
      const auto pair = trim(rest.substr(0, semi));
      rest.remove_prefix(std::min(semi + 1, rest.size()));
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != "keyledger_session") {
        continue;
      }
      auto cookie = trim(pair.substr(eq + 1));
      if (cookie.size() >= 2 && cookie.front() == '"' && cookie.back() == '"') {
        cookie = cookie.substr(1, cookie.size() - 2);
      }
      // A value of another form names no session: nothing is looked up for it.
      if (domain::valid_session_token(cookie)) return cookie;
    }
  }
  return {};
}

infra::http_response json_response(unsigned status, std::string body) {
  infra::http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string printable_name(std::string_view name) {
  // Echoed only when it cannot be a secret (keys are longer) or markup.
  const bool safe = !name.empty() && name.size() <= 32 &&
                    std::all_of(name.begin(), name.end(), [](unsigned char ch) {
                      return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
                    });
  if (!safe) return "(name not shown)";
  std::string quoted;
  quoted.reserve(name.size() + 2);
  quoted.push_back('\'');
  quoted.append(name);
  quoted.push_back('\'');
  return quoted;
}

void write_key_fields(infra::json_writer& w, const domain::api_key_state& k,
                      const key_standing& standing, domain::timestamp now,
                      const infra::last_use* last) {
  w.field("id", k.key_id)
      .field("name", k.name)
      .field("start", k.start)
      .field("environment", domain::to_string(k.env));
  w.key("scopes").begin_array();
  for (const auto& s : k.scopes) w.string(s);
  w.end_array();
  w.key("effective_scopes").begin_array();
  for (const auto& s : standing.effective_scopes) w.string(s);
  w.end_array();
  optional_text(w, "owner_user_id", k.owner_user_id);
  // As the key view evaluates it: an active key whose owner was removed is disabled.
  auto status = k.status_at(now);
  if (status == domain::key_status::active && standing.owner_removed) {
    status = domain::key_status::disabled;
  }
  w.field("workspace_id", k.workspace_id)
      .field("enabled", k.enabled)
      .field("status", domain::to_string(status));
  w.key("disabled_reason");
  if (status != domain::key_status::disabled) {
    w.null();
  } else {
    w.string(standing.owner_removed ? "owner_removed" : "disabled");
  }
  w.field("created_at", domain::format_timestamp(k.created_at));
  optional_time(w, "expires_at", k.expires_at);
  optional_time(w, "updated_at", k.updated_at);
  optional_time(w, "revoked_at", k.revoked_at);
  w.key("allowed_cidrs").begin_array();
  for (const auto& c : k.allowed_cidrs) w.string(c);
  w.end_array();
  optional_text(w, "postback_url", k.postback_url);
  w.field("off_the_record", k.off_the_record);
  w.key("rate_limit");
  if (k.limit) {
    w.begin_object()
        .field("limit", static_cast<std::uint64_t>(k.limit->limit))
        .field("window_seconds", static_cast<std::uint64_t>(k.limit->window_seconds))
        .end_object();
  } else {
    w.null();
  }
  optional_text(w, "rotated_from", k.rotated_from);
  optional_text(w, "rotated_to", k.rotated_to);
  if (last != nullptr && last->at_us > 0) {
    w.field("last_used_at",
            domain::format_timestamp(domain::timestamp(std::chrono::microseconds(last->at_us))));
    optional_text(w, "last_used_ip", last->ip);
  } else {
    w.key("last_used_at").null().key("last_used_ip").null();
  }
}

std::optional<infra::json_body> api::parse_body(const call& c,
                                                std::initializer_list<std::string_view> known,
                                                bool allow_empty) const {
  const auto& req = c.req;
  const bool blank = std::all_of(req.body.begin(), req.body.end(), [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
  });
  if (allow_empty && blank) return std::move(infra::json_body::parse("{}").value());
  const auto type = req.header("content-type");
  const auto media = trim(type.substr(0, type.find(';')));
  if (!iequals(media, "application/json")) {
    c.respond(error_response(415, "UNSUPPORTED_MEDIA_TYPE", req.request_id));
    return std::nullopt;
  }
  auto body = infra::json_body::parse(req.body);
  if (!body) {
    c.respond(error_response(400, "INVALID_JSON", body.error().message, req.request_id));
    return std::nullopt;
  }
  if (auto unknown = body->first_unknown_field(known)) {
    c.respond(error_response(400, "UNKNOWN_FIELD", "unknown field " + printable_name(*unknown),
                             req.request_id));
    return std::nullopt;
  }
  return std::move(body.value());
}

void api::run_read(const call& c, read_job job) const {
  auto respond = c.respond;
  auto request_id = c.req.request_id;
  const bool queued =
      d_.pool.try_submit([job = std::move(job), respond, request_id](std::size_t worker) mutable {
        infra::http_response answer;
        try {
          answer = job(worker);
        } catch (const infra::error& e) {
          infra::log(infra::log_level::error, "request_failed",
                     {{"request_id", request_id}, {"detail", e.what()}});
          answer = error_response(e.code(), request_id);
        } catch (const std::exception& e) {
          infra::log(infra::log_level::error, "request_failed",
                     {{"request_id", request_id}, {"detail", e.what()}});
          answer = error_response(500, "INTERNAL", request_id);
        }
        respond(std::move(answer));
      });
  if (!queued) c.respond(error_response(infra::errc::overloaded, c.req.request_id));
}

std::optional<workspace_entry> api::workspace_of(const call& c) const {
  auto workspace = d_.view.find_workspace(c.who->workspace_id);
  if (!workspace) {
    infra::log(infra::log_level::error, "workspace_missing",
               {{"workspace_id", c.who->workspace_id}, {"request_id", c.req.request_id}});
    c.respond(error_response(500, "INTERNAL", c.req.request_id));
  }
  return workspace;
}

request_context api::context_of(const call& c) const {
  // The actor recorded with events: the key, or the person of a session.
  std::string actor;
  if (c.who) actor = c.who->is_key() ? c.who->key_id : c.who->user_id;
  return {std::move(actor), c.req.request_id, c.client_ip_text,
          std::string(c.req.header("idempotency-key"))};
}

key_standing api::standing_of(const domain::api_key_state& k, const workspace_entry& ws) const {
  key_standing out;
  if (k.owner_user_id.empty()) {
    // A key from before keys had owners keeps its own scopes (docs/security.md).
    out.effective_scopes = k.scopes;
    return out;
  }
  const auto role = d_.directory.role_of(k.workspace_id, k.owner_user_id);
  out.owner_removed = !role.has_value();
  out.effective_scopes = domain::effective_scopes(k.scopes, role, ws.scope_catalog);
  return out;
}

principal api::principal_of(const key_entry& key) const {
  principal p;
  p.workspace_id = key.workspace_id();
  p.user_id = key.state.owner_user_id;
  if (!p.user_id.empty()) p.member_role = d_.directory.role_of(p.workspace_id, p.user_id);
  p.key_id = key.key_id();
  p.scopes = key.effective_scopes;
  return p;
}

bool api::await_applied(std::uint64_t seq) const {
  return seq == 0 || d_.view.wait_applied(seq, std::chrono::steady_clock::now() + d_.apply_wait);
}

std::vector<infra::last_use> api::last_uses(std::size_t worker,
                                            std::span<const std::string> ids) const {
  if (ids.empty()) return {};
  return d_.telemetry_for(worker).last_uses(ids);
}

}  // namespace http

namespace {

bool trusted(const std::vector<domain::cidr>& proxies, const domain::ip_address& ip) noexcept {
  return std::any_of(proxies.begin(), proxies.end(),
                     [&](const domain::cidr& c) { return c.contains(ip); });
}

/// One X-Forwarded-For entry: an address, "[v6]", "[v6]:port" or "v4:port" (some proxies
/// append the port).
std::optional<domain::ip_address> forwarded_address(std::string_view entry) {
  if (entry.starts_with('[')) {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = entry.substr(close + 1);
    if (!rest.empty() && (rest.size() < 2 || rest.front() != ':' ||
                          !std::all_of(rest.begin() + 1, rest.end(),
                                       [](unsigned char ch) { return std::isdigit(ch); }))) {
      return std::nullopt;
    }
    return domain::parse_ip(entry.substr(1, close - 1));
  }
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    const auto port = entry.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
      return std::nullopt;
    }
    entry = entry.substr(0, colon);
  }
  return domain::parse_ip(entry);
}

}  // namespace

std::optional<domain::ip_address> client_ip_of(const infra::http_request& req,
                                               const std::vector<domain::cidr>& trusted_proxies) {
  const auto peer = domain::parse_ip(req.remote_ip);
  if (!peer) return std::nullopt;
  // Only a trusted proxy's word is taken: anyone else could write any X-Forwarded-For.
  if (!trusted(trusted_proxies, *peer)) return peer;

  std::vector<std::string_view> entries;
  for (const auto& [name, value] : req.headers) {
    if (!http::iequals(name, "x-forwarded-for")) continue;
    std::string_view rest = value;
    while (true) {
      const auto comma = rest.find(',');
      const auto entry = http::trim(rest.substr(0, comma));
      if (!entry.empty()) entries.push_back(entry);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (entries.empty()) return peer;
  // Each proxy appends the address it saw: walk from the right, past our own proxies, to the
  // first address a trusted proxy vouches for but is not itself one.
  for (std::size_t i = entries.size(); i-- > 0;) {
    const auto ip = forwarded_address(entries[i]);
    if (!ip) return std::nullopt;  // written by someone trusted, yet not an address: unknown
    if (!trusted(trusted_proxies, *ip) || i == 0) return ip;
  }
  return peer;
}

std::vector<domain::cidr> parse_trusted_proxies(const std::vector<std::string>& entries) {
  std::vector<domain::cidr> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto c = domain::parse_cidr(http::trim(entries[i]));
    if (!c) {
      throw infra::error(infra::errc::config,
                         "KEYLEDGER_TRUSTED_PROXIES: entry " + std::to_string(i + 1) +
                             " is not an IPv4/IPv6 address or CIDR without host bits set");
    }
    out.push_back(*c);
  }
  return out;
}

}  // namespace keyledger::services

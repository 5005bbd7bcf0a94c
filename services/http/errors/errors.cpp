#include "services/http/errors/errors.hpp"

#include <algorithm>
#include <string>

#include "infra/json/json.hpp"

namespace keyledger::services {
namespace {

using domain::problem;
using domain::problem_kind;
using kind = domain::problem_kind;

std::string_view title_of(kind k, std::string_view code) noexcept {
  // A person's login is not an API key: its 401 says so.
  if (code == "INVALID_CREDENTIALS") return "Invalid credentials";
  switch (k) {
    case kind::invalid:
      return "Bad request";
    case kind::unauthenticated:
      return "Invalid API key";
    case kind::forbidden:
      return "Insufficient permissions";
    case kind::not_found:
      return "Not found";
    case kind::method_not_allowed:
      return "Method not allowed";
    case kind::conflict:
      return "Conflict";
    case kind::too_large:
      return "Payload too large";
    case kind::unsupported_media:
      return "Unsupported media type";
    case kind::unprocessable:
      return "Unprocessable request";
    case kind::rate_limited:
      return "Rate limit exceeded";
    case kind::headers_too_large:
      return "Request header fields too large";
    case kind::unavailable:
      return "Service unavailable";
    case kind::internal:
      break;
  }
  return "Internal error";
}

std::string_view default_text(kind k, std::string_view code) noexcept {
  switch (k) {
    case kind::unauthenticated:
      if (code == "INVALID_CREDENTIALS") return "The email or password is incorrect";
      return "The provided API key is invalid or expired";
    case kind::forbidden:
      if (code == "CSRF_FAILED") {
        return "A cookie-authenticated change needs the session's X-CSRF-Token header";
      }
      return "Your API key doesn't have access to this resource";
    case kind::invalid:
      if (code == "UNSUPPORTED_VERSION") {
        return "Unsupported Keyledger-Version; this server supports 2026-11-23";
      }
      return "The request is malformed";
    case kind::not_found:
      if (code == "NO_ROUTE") return "No route matches this path";
      return "No such resource";
    case kind::conflict:
      if (code == "IDEMPOTENCY_IN_PROGRESS") {
        return "A request with this Idempotency-Key is still being processed; retry shortly";
      }
      return "The request conflicts with the resource's current state";
    case kind::unprocessable:
      if (code == "IDEMPOTENCY_KEY_REUSED") {
        return "This Idempotency-Key was used for a different request";
      }
      return "The request cannot be processed";
    case kind::method_not_allowed:
      return "This method is not allowed on this resource";
    case kind::too_large:
      return "The request body is larger than 64 KiB";
    case kind::unsupported_media:
      return "The request body must be application/json";
    case kind::rate_limited:
      return "Too many requests. Please try again later";
    case kind::headers_too_large:
      return "The request headers are too large";
    case kind::unavailable:
      if (code == "OVERLOADED") return "The server is busy. Please retry shortly";
      if (code == "DEADLINE_EXCEEDED") return "The request took too long. Please retry";
      return "The service is temporarily unavailable. Please retry shortly";
    case kind::internal:
      break;
  }
  return "An internal error occurred";
}

std::string_view text_of(const problem& p) noexcept {
  return p.text.empty() ? default_text(p.kind, p.code) : std::string_view(p.text);
}

std::int64_t retry_seconds(const problem& p) noexcept {
  return std::max<std::int64_t>(1, p.retry_after.count());
}

/// OAuth error codes are lowercase ASCII with '_' (RFC 6749 appendix A.7 allows more; ours
/// are all of this form).
bool oauth_code(std::string_view code) noexcept {
  return !code.empty() && std::all_of(code.begin(), code.end(),
                                      [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

std::string_view oauth_code_of(kind k) noexcept {
  switch (k) {
    case kind::unauthenticated:
      return "invalid_client";
    case kind::forbidden:
      return "access_denied";
    case kind::unavailable:
    case kind::rate_limited:
      return "temporarily_unavailable";
    case kind::internal:
      return "server_error";
    default:
      return "invalid_request";
  }
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

unsigned status_of(kind k) noexcept {
  switch (k) {
    case kind::invalid:
      return 400;
    case kind::unauthenticated:
      return 401;
    case kind::forbidden:
      return 403;
    case kind::not_found:
      return 404;
    case kind::method_not_allowed:
      return 405;
    case kind::conflict:
      return 409;
    case kind::too_large:
      return 413;
    case kind::unsupported_media:
      return 415;
    case kind::unprocessable:
      return 422;
    case kind::rate_limited:
      return 429;
    case kind::headers_too_large:
      return 431;
    case kind::unavailable:
      return 503;
    case kind::internal:
      break;
  }
  return 500;
}

kind kind_of_status(unsigned status) noexcept {
  for (const kind k :
       {kind::invalid, kind::unauthenticated, kind::forbidden, kind::not_found,
        kind::method_not_allowed, kind::conflict, kind::too_large, kind::unsupported_media,
        kind::unprocessable, kind::rate_limited, kind::headers_too_large, kind::unavailable}) {
    if (status_of(k) == status) return k;
  }
  return status >= 500 || status < 400 ? kind::internal : kind::invalid;
}

infra::http_response json_error(const problem& p, std::string_view request_id) {
  infra::json_writer w;
  w.begin_object().field("error", title_of(p.kind, p.code)).field("message", text_of(p));
  if (p.kind == kind::rate_limited) w.field("retry_after", retry_seconds(p));
  w.field("code", p.code).field("request_id", request_id).end_object();
  infra::http_response r;
  r.status = status_of(p.kind);
  r.body = w.take();
  if (p.kind == kind::rate_limited) {
    r.headers.emplace_back("Retry-After", std::to_string(retry_seconds(p)));
  } else if (p.kind == kind::unavailable || p.code == "IDEMPOTENCY_IN_PROGRESS") {
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

infra::http_response oauth_error(const problem& p) {
  const auto code = oauth_code(p.code) ? p.code : oauth_code_of(p.kind);
  infra::json_writer w;
  w.begin_object().field("error", code).field("error_description", text_of(p)).end_object();
  infra::http_response r;
  // RFC 6749 5.2: 400 unless the client failed to authenticate (401).
  r.status = p.kind == kind::unauthenticated ? 401
             : p.kind == kind::internal      ? 500
             : p.kind == kind::unavailable   ? 503
                                             : 400;
  r.body = w.take();
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"keyledger\"");
  if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

infra::http_response html_error(const problem& p, std::string_view request_id) {
  const auto title = html_escape(title_of(p.kind, p.code));
  infra::http_response r;
  r.status = status_of(p.kind);
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title +
           "</title></head><body><main><h1>" + title + "</h1><p>" + html_escape(text_of(p)) +
           "</p><p><small>Request " + html_escape(request_id) + "</small></p></main></body>" +
           "</html>\n";
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cache-Control", "no-store");
  if (p.kind == kind::unavailable) r.headers.emplace_back("Retry-After", "1");
  return r;
}

problem problem_of(infra::errc e) {
  using infra::errc;
  switch (e) {
    case errc::bad_request:
      return problem::of(kind::invalid, "BAD_REQUEST");
    case errc::unauthorized:
      return problem::of(kind::unauthenticated, "UNAUTHORIZED");
    case errc::forbidden:
      return problem::of(kind::forbidden, "FORBIDDEN");
    case errc::not_found:
      return problem::of(kind::not_found, "NOT_FOUND");
    case errc::conflict:
      return problem::of(kind::conflict, "CONFLICT",
                         "The resource was changed concurrently; retry");
    case errc::payload_too_large:
      return problem::of(kind::too_large, "PAYLOAD_TOO_LARGE");
    case errc::overloaded:
      return problem::of(kind::unavailable, "OVERLOADED");
    case errc::unavailable:
      return problem::of(kind::unavailable, "UNAVAILABLE");
    case errc::deadline_exceeded:
      return problem::of(kind::unavailable, "DEADLINE_EXCEEDED");
    case errc::ok:
    case errc::config:
    case errc::storage:
    case errc::internal:
      break;
  }
  return problem::of(kind::internal, "INTERNAL");
}

problem problem_of(domain::rejection r) {
  using domain::rejection;
  switch (r) {
    case rejection::key_not_found:
    case rejection::workspace_not_found:
      return problem::of(kind::not_found, "NOT_FOUND");
    case rejection::key_already_exists:
    case rejection::workspace_already_exists:
      return problem::of(kind::conflict, "CONFLICT", "The resource already exists");
    case rejection::key_already_revoked:
    case rejection::key_revoked:
      return problem::of(kind::conflict, "KEY_REVOKED", "The key is revoked");
    case rejection::key_expired:
      return problem::of(kind::conflict, "KEY_EXPIRED", "The key has expired");
    case rejection::key_already_rotated:
      return problem::of(kind::conflict, "KEY_ALREADY_ROTATED",
                         "The key was already rotated; only the newest key of a rotation "
                         "chain can be rotated");
    case rejection::invalid_name:
      return problem::invalid("name",
                              "field 'name' must be 1-64 printable characters after trimming "
                              "(spaces only where the workspace allows them) and must not be "
                              "an API key");
    case rejection::invalid_scopes:
      return problem::invalid(
          "scopes",
          "field 'scopes' must hold at most 32 distinct scopes of the form resource:action");
    case rejection::invalid_expiry:
      return problem::invalid("expires_at",
                              "fields 'expires_at' / 'expires_in_days': the expiry must lie in "
                              "the future and within the workspace's maximum key lifespan; no "
                              "expiry only where the workspace allows it");
    case rejection::invalid_cidrs:
      return problem::invalid("allowed_cidrs",
                              "field 'allowed_cidrs' must hold at most 32 IPv4/IPv6 addresses "
                              "or CIDRs without host bits set");
    case rejection::invalid_postback_url:
      return problem::invalid("postback_url",
                              "field 'postback_url' must be an https URL (http only to a "
                              "loopback host) of at most 2048 printable ASCII characters, "
                              "without user info or fragment");
    case rejection::invalid_rate_limit:
      return problem::invalid("rate_limit",
                              "field 'rate_limit' must be {\"limit\": 1-1000000, "
                              "\"window_seconds\": 1-86400} or null");
    case rejection::invalid_grace_period:
      return problem::invalid("grace_period_seconds",
                              "field 'grace_period_seconds' must be an integer from 0 to 2592000");
    case rejection::invalid_workspace_name:
      return problem::invalid("name", "invalid workspace name");
    case rejection::invalid_key_prefix:
      return problem::invalid("key_prefix", "invalid key prefix");
    case rejection::invalid_key_policy:
      return problem::invalid("key_policy",
                              "field 'key_policy': default_lifespan_days must be from 1 to "
                              "max_lifespan_days, and max_lifespan_days from 1 to 3650");
    case rejection::invalid_owner:
      return problem::invalid("owner_user_id", "invalid key owner");
    case rejection::invalid_leak_report:
      return problem::invalid("url",
                              "each report's 'url' must be at most 2048 printable ASCII "
                              "characters and its 'source' 1-64 of [A-Za-z0-9_-]");
    case rejection::invalid_key_hash:
    case rejection::invalid_key_start:
    case rejection::not_due:
      break;
  }
  return problem::of(kind::internal, "INTERNAL");
}

problem problem_of(user_error e, std::chrono::seconds retry_after) {
  switch (e) {
    case user_error::forbidden:
      return problem::of(kind::forbidden, "FORBIDDEN",
                         "Your role in this workspace does not allow this action");
    case user_error::not_found:
      return problem::of(kind::not_found, "NOT_FOUND");
    case user_error::invalid_email:
      return problem::invalid("email",
                              "field 'email' must be an email address of 3-254 bytes (one '@', "
                              "no spaces or control characters)");
    case user_error::invalid_display_name:
      return problem::invalid("display_name",
                              "field 'display_name' must be 1-100 printable characters after "
                              "trimming (no control or invisible characters) and must not be "
                              "an API key");
    case user_error::invalid_role:
      return problem::invalid(
          "role", "field 'role' must be \"owner\", \"admin\", \"member\" or \"auditor\"");
    case user_error::already_member:
      return problem::of(kind::conflict, "ALREADY_MEMBER",
                         "The user is already a member of this workspace");
    case user_error::last_owner:
      return problem::of(kind::conflict, "LAST_OWNER",
                         "The last owner of a workspace can be neither removed nor demoted");
    case user_error::invalid_token:
      return problem::of(kind::invalid, "INVALID_TOKEN",
                         "The set-password token is invalid, used or expired");
    case user_error::weak_password:
      return {kind::invalid, "WEAK_PASSWORD", "password",
              "field 'password' must be from 12 to 1024 bytes long"};
    case user_error::bad_credentials:
      return problem::of(kind::unauthenticated, "INVALID_CREDENTIALS");
    case user_error::choose_workspace:
      return {kind::invalid, "CHOOSE_WORKSPACE", "workspace",
              "This account belongs to several workspaces: name one in field 'workspace' (its "
              "id or name)"};
    case user_error::throttled: {
      auto p = problem::of(kind::rate_limited, "RATE_LIMITED");
      p.retry_after = retry_after;
      return p;
    }
  }
  return problem::of(kind::internal, "INTERNAL");
}

problem refusal(verify_code code, std::chrono::seconds retry_after, bool gateway) {
  const unsigned status = http_status_of(code);
  if (status == 429) {
    auto p = problem::of(kind::rate_limited, "RATE_LIMITED");
    p.retry_after = retry_after;
    return p;
  }
  if (status == 401 || status == 200) {
    return problem::of(kind::unauthenticated, gateway ? to_string(code) : "UNAUTHORIZED");
  }
  if (!gateway && code == verify_code::insufficient_scope) {
    return problem::of(kind::forbidden, "FORBIDDEN");
  }
  return problem::of(kind::forbidden, to_string(code));
}

infra::http_response refusal_response(verify_code code, std::chrono::seconds retry_after,
                                      std::string_view request_id, bool gateway) {
  auto r = json_error(refusal(code, retry_after, gateway), request_id);
  if (gateway && r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

void stamp_version(infra::http_response& r) {
  if (r.headers.contains("Keyledger-Version")) return;
  r.headers.emplace_back("Keyledger-Version", api_version);
}

infra::error_renderer make_error_renderer() {
  return [](unsigned status, std::string_view code, std::string_view request_id) {
    auto r = json_error(problem::of(kind_of_status(status), code), request_id);
    stamp_version(r);
    return r;
  };
}

}  // namespace keyledger::services

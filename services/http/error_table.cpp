#include "services/http/error_table.hpp"

#include <algorithm>
#include <string>

#include "infra/json/json.hpp"

namespace keyledger::services {
namespace {

std::string_view title_of(unsigned status, std::string_view code) noexcept {
  // A person's login is not an API key: its 401 says so.
  if (code == "INVALID_CREDENTIALS") return "Invalid credentials";
  switch (status) {
    case 400:
      return "Bad request";
    case 401:
      return "Invalid API key";
    case 403:
      return "Insufficient permissions";
    case 404:
      return "Not found";
    case 405:
      return "Method not allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload too large";
    case 415:
      return "Unsupported media type";
    case 422:
      return "Unprocessable request";
    case 429:
      return "Rate limit exceeded";
    case 431:
      return "Request header fields too large";
    case 503:
      return "Service unavailable";
    default:
      return status >= 500 ? "Internal error" : "Bad request";
  }
}

std::string_view default_message(unsigned status, std::string_view code) noexcept {
  switch (status) {
    case 401:
      if (code == "INVALID_CREDENTIALS") return "The email or password is incorrect";
      return "The provided API key is invalid or expired";
    case 403:
      if (code == "CSRF_FAILED") {
        return "A cookie-authenticated change needs the session's X-CSRF-Token header";
      }
      return "Your API key doesn't have access to this resource";
    case 400:
      if (code == "UNSUPPORTED_VERSION") {
        return "Unsupported Keyledger-Version; this server supports 2026-11-23";
      }
      return "The request is malformed";
    case 404:
      if (code == "NO_ROUTE") return "No route matches this path";
      return "No such resource";
    case 409:
      if (code == "IDEMPOTENCY_IN_PROGRESS") {
        return "A request with this Idempotency-Key is still being processed; retry shortly";
      }
      return "The request conflicts with the resource's current state";
    case 422:
      if (code == "IDEMPOTENCY_KEY_REUSED") {
        return "This Idempotency-Key was used for a different request";
      }
      return "The request cannot be processed";
    case 405:
      return "This method is not allowed on this resource";
    case 413:
      return "The request body is larger than 64 KiB";
    case 415:
      return "The request body must be application/json";
    case 429:
      return "Too many requests. Please try again later";
    case 431:
      return "The request headers are too large";
    case 503:
      if (code == "OVERLOADED") return "The server is busy. Please retry shortly";
      if (code == "DEADLINE_EXCEEDED") return "The request took too long. Please retry";
      return "The service is temporarily unavailable. Please retry shortly";
    default:
      return status >= 500 ? "An internal error occurred" : "The request is malformed";
  }
}

}  // namespace

infra::http_response error_response(unsigned status, std::string_view code,
                                    std::string_view message, std::string_view request_id) {
  infra::json_writer w;
  w.begin_object()
      .field("error", title_of(status, code))
      .field("message", message)
      .field("code", code)
      .field("request_id", request_id)
      .end_object();
  infra::http_response r;
  r.status = status;
  r.body = w.take();
  if (status == 503 || code == "IDEMPOTENCY_IN_PROGRESS")
    r.headers.emplace_back("Retry-After", "1");
  return r;
}

infra::http_response error_response(unsigned status, std::string_view code,
                                    std::string_view request_id) {
  return error_response(status, code, default_message(status, code), request_id);
}

infra::http_response error_response(infra::errc e, std::string_view request_id) {
  using infra::errc;
  switch (e) {
    case errc::bad_request:
      return error_response(400, "BAD_REQUEST", request_id);
    case errc::unauthorized:
      return error_response(401, "UNAUTHORIZED", request_id);
    case errc::forbidden:
      return error_response(403, "FORBIDDEN", request_id);
    case errc::not_found:
      return error_response(404, "NOT_FOUND", request_id);
    case errc::conflict:
      return error_response(409, "CONFLICT", "The resource was changed concurrently; retry",
                            request_id);
    case errc::payload_too_large:
      return error_response(413, "PAYLOAD_TOO_LARGE", request_id);
    case errc::overloaded:
      return error_response(503, "OVERLOADED", request_id);
    case errc::unavailable:
      return error_response(503, "UNAVAILABLE", request_id);
    case errc::deadline_exceeded:
      return error_response(503, "DEADLINE_EXCEEDED", request_id);
    case errc::ok:
    case errc::config:
    case errc::storage:
    case errc::internal:
      break;
  }
  return error_response(500, "INTERNAL", request_id);
}

infra::http_response error_response(domain::rejection r, std::string_view request_id) {
  using domain::rejection;
  switch (r) {
    case rejection::key_not_found:
      return error_response(404, "NOT_FOUND", request_id);
    case rejection::key_already_exists:
    case rejection::workspace_already_exists:
      return error_response(409, "CONFLICT", "The resource already exists", request_id);
    case rejection::key_already_revoked:
    case rejection::key_revoked:
      return error_response(409, "KEY_REVOKED", "The key is revoked", request_id);
    case rejection::key_expired:
      return error_response(409, "KEY_EXPIRED", "The key has expired", request_id);
    case rejection::key_already_rotated:
      return error_response(409, "KEY_ALREADY_ROTATED",
                            "The key was already rotated; only the newest key of a rotation "
                            "chain can be rotated",
                            request_id);
    case rejection::invalid_name:
      return error_response(400, "INVALID_FIELD",
                            "field 'name' must be 1-64 printable characters after trimming "
                            "(spaces only where the workspace allows them) and must not be an "
                            "API key",
                            request_id);
    case rejection::invalid_scopes:
      return error_response(
          400, "INVALID_FIELD",
          "field 'scopes' must hold at most 32 distinct scopes of the form resource:action",
          request_id);
    case rejection::invalid_expiry:
      return error_response(400, "INVALID_FIELD",
                            "fields 'expires_at' / 'expires_in_days': the expiry must lie in the "
                            "future and within the workspace's maximum key lifespan; no expiry "
                            "only where the workspace allows it",
                            request_id);
    case rejection::invalid_cidrs:
      return error_response(400, "INVALID_FIELD",
                            "field 'allowed_cidrs' must hold at most 32 IPv4/IPv6 addresses or "
                            "CIDRs without host bits set",
                            request_id);
    case rejection::invalid_postback_url:
      return error_response(400, "INVALID_FIELD",
                            "field 'postback_url' must be an https URL (http only to a loopback "
                            "host) of at most 2048 printable ASCII characters, without user "
                            "info or fragment",
                            request_id);
    case rejection::invalid_rate_limit:
      return error_response(400, "INVALID_FIELD",
                            "field 'rate_limit' must be {\"limit\": 1-1000000, "
                            "\"window_seconds\": 1-86400} or null",
                            request_id);
    case rejection::invalid_grace_period:
      return error_response(400, "INVALID_FIELD",
                            "field 'grace_period_seconds' must be an integer from 0 to 2592000",
                            request_id);
    case rejection::invalid_workspace_name:
      return error_response(400, "INVALID_FIELD", "invalid workspace name", request_id);
    case rejection::invalid_key_prefix:
      return error_response(400, "INVALID_FIELD", "invalid key prefix", request_id);
    case rejection::invalid_key_policy:
      return error_response(400, "INVALID_FIELD",
                            "field 'key_policy': default_lifespan_days must be from 1 to "
                            "max_lifespan_days, and max_lifespan_days from 1 to 3650",
                            request_id);
    case rejection::invalid_owner:
      return error_response(400, "INVALID_FIELD", "invalid key owner", request_id);
    case rejection::workspace_not_found:
      return error_response(404, "NOT_FOUND", request_id);
    case rejection::invalid_key_hash:
    case rejection::invalid_key_start:
    case rejection::not_due:
      break;
  }
  return error_response(500, "INTERNAL", request_id);
}

infra::http_response error_response(user_error e, std::string_view request_id,
                                    std::chrono::seconds retry_after) {
  switch (e) {
    case user_error::forbidden:
      return error_response(403, "FORBIDDEN",
                            "Your role in this workspace does not allow this action", request_id);
    case user_error::not_found:
      return error_response(404, "NOT_FOUND", request_id);
    case user_error::invalid_email:
      return error_response(400, "INVALID_FIELD",
                            "field 'email' must be an email address of 3-254 bytes (one '@', no "
                            "spaces or control characters)",
                            request_id);
    case user_error::invalid_display_name:
      return error_response(400, "INVALID_FIELD",
                            "field 'display_name' must be 1-100 printable characters after "
                            "trimming (no control or invisible characters) and must not be an "
                            "API key",
                            request_id);
    case user_error::invalid_role:
      return error_response(400, "INVALID_FIELD",
                            "field 'role' must be \"owner\", \"admin\", \"member\" or \"auditor\"",
                            request_id);
    case user_error::already_member:
      return error_response(409, "ALREADY_MEMBER", "The user is already a member of this workspace",
                            request_id);
    case user_error::last_owner:
      return error_response(409, "LAST_OWNER",
                            "The last owner of a workspace can be neither removed nor demoted",
                            request_id);
    case user_error::invalid_token:
      return error_response(400, "INVALID_TOKEN",
                            "The set-password token is invalid, used or expired", request_id);
    case user_error::weak_password:
      return error_response(400, "WEAK_PASSWORD",
                            "field 'password' must be from 12 to 1024 bytes long", request_id);
    case user_error::bad_credentials:
      return error_response(401, "INVALID_CREDENTIALS", request_id);
    case user_error::choose_workspace:
      return error_response(400, "CHOOSE_WORKSPACE",
                            "This account belongs to several workspaces: name one in field "
                            "'workspace' (its id or name)",
                            request_id);
    case user_error::throttled:
      return rate_limited_response(retry_after, request_id);
  }
  return error_response(500, "INTERNAL", request_id);
}

infra::http_response rate_limited_response(std::chrono::seconds retry_after,
                                           std::string_view request_id) {
  const auto seconds = std::max<std::int64_t>(1, retry_after.count());
  infra::json_writer w;
  w.begin_object()
      .field("error", title_of(429, "RATE_LIMITED"))
      .field("message", default_message(429, "RATE_LIMITED"))
      .field("retry_after", seconds)
      .field("code", "RATE_LIMITED")
      .field("request_id", request_id)
      .end_object();
  infra::http_response r;
  r.status = 429;
  r.body = w.take();
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

infra::http_response refusal_response(verify_code code, std::chrono::seconds retry_after,
                                      std::string_view request_id, bool gateway) {
  const unsigned status = http_status_of(code);
  if (status == 429) return rate_limited_response(retry_after, request_id);
  if (status == 401 || status == 200) {
    auto r = error_response(401, gateway ? to_string(code) : "UNAUTHORIZED", request_id);
    if (gateway) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!gateway && code == verify_code::insufficient_scope) {
    return error_response(403, "FORBIDDEN", request_id);
  }
  return error_response(403, to_string(code), request_id);
}

void stamp_version(infra::http_response& r) {
  for (const auto& [name, value] : r.headers) {
    if (name == "Keyledger-Version") return;
  }
  r.headers.emplace_back("Keyledger-Version", std::string(api_version));
}

infra::error_renderer make_error_renderer() {
  return [](unsigned status, std::string_view code, std::string_view request_id) {
    auto r = error_response(status, code, request_id);
    stamp_version(r);
    return r;
  };
}

}  // namespace keyledger::services

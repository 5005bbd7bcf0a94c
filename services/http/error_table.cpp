#include "services/http/error_table.hpp"

#include "infra/json/json.hpp"

namespace keyledger::services {
namespace {

std::string_view title_of(unsigned status) noexcept {
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
      return "The provided API key is invalid or expired";
    case 403:
      return "Your API key doesn't have access to this resource";
    case 404:
      return "No such resource";
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
      .field("error", title_of(status))
      .field("message", message)
      .field("code", code)
      .field("request_id", request_id)
      .end_object();
  infra::http_response r;
  r.status = status;
  r.body = w.take();
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
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
      return error_response(409, "KEY_REVOKED", "The key is revoked", request_id);
    case rejection::invalid_name:
      return error_response(400, "INVALID_FIELD",
                            "field 'name' must be 1-64 characters of A-Z a-z 0-9 . _ -",
                            request_id);
    case rejection::invalid_scopes:
      return error_response(
          400, "INVALID_FIELD",
          "field 'scopes' must hold at most 32 distinct scopes of the form resource:action",
          request_id);
    case rejection::invalid_workspace_name:
      return error_response(400, "INVALID_FIELD", "invalid workspace name", request_id);
    case rejection::invalid_key_prefix:
      return error_response(400, "INVALID_FIELD", "invalid key prefix", request_id);
    case rejection::invalid_key_hash:
    case rejection::invalid_key_start:
      break;
  }
  return error_response(500, "INTERNAL", request_id);
}

infra::error_renderer make_error_renderer() {
  return [](unsigned status, std::string_view code, std::string_view request_id) {
    return error_response(status, code, request_id);
  };
}

}  // namespace keyledger::services

#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace keyledger::infra {

/// The project's one error taxonomy. pqxx, OpenSSL, parse and I/O failures are translated
/// into these at the infra boundary; services/http/error_table maps them to HTTP status and
/// public JSON. The `detail` of an error is for the log only and never names a secret.
enum class errc {
  ok = 0,
  bad_request,        ///< malformed or invalid input (400)
  unauthorized,       ///< missing or invalid credentials (401)
  forbidden,          ///< authenticated but not allowed (403)
  not_found,          ///< (404)
  conflict,           ///< optimistic-concurrency or uniqueness conflict (409)
  payload_too_large,  ///< (413)
  overloaded,         ///< bounded queue full (503 + Retry-After)
  unavailable,        ///< database unreachable (503)
  deadline_exceeded,  ///< request deadline passed (503)
  config,             ///< bad configuration (startup)
  storage,            ///< unexpected database failure (500)
  internal,           ///< bug (500)
};

const std::error_category& keyledger_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// Thrown by infra adapters. what() is the internal detail (log only).
class error : public std::runtime_error {
 public:
  error(errc code, const std::string& detail) : std::runtime_error(detail), code_(code) {}
  errc code() const noexcept { return code_; }

 private:
  errc code_;
};

}  // namespace keyledger::infra

template <>
struct std::is_error_code_enum<keyledger::infra::errc> : std::true_type {};

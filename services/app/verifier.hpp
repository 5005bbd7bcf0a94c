#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/net.hpp"
#include "domain/types.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

class active_key_view;
class rate_limiter;
class usage_recorder;
struct key_entry;

/// The outcome of checking a key, in the order the checks run: MALFORMED, NOT_FOUND, REVOKED,
/// EXPIRED, DISABLED, WRONG_ENVIRONMENT, FORBIDDEN_IP, INSUFFICIENT_SCOPE, RATE_LIMITED. The rate
/// limit is consulted last, so a refused request never consumes it.
enum class verify_code {
  valid,
  malformed,
  not_found,
  revoked,
  expired,
  disabled,
  wrong_environment,
  forbidden_ip,
  insufficient_scope,
  rate_limited,
};

/// "VALID", "MALFORMED", "NOT_FOUND", ... (the public `code`).
std::string_view to_string(verify_code c) noexcept;

/// 401 for MALFORMED/NOT_FOUND/REVOKED/EXPIRED/DISABLED, 403 for WRONG_ENVIRONMENT/
/// FORBIDDEN_IP/INSUFFICIENT_SCOPE, 429 for RATE_LIMITED, 200 for VALID.
unsigned http_status_of(verify_code c) noexcept;

struct verify_request {
  std::string_view key;  ///< untrusted text; never logged, never stored
  std::span<const std::string> required_scopes;
  std::optional<domain::environment> env;  ///< required environment, if any
  /// The client address the CIDRs are checked against. nullopt (unknown) fails a key that has
  /// allowed CIDRs with FORBIDDEN_IP: when in doubt, refuse.
  std::optional<domain::ip_address> ip;
  /// Whether this check counts as a use of the key (last used, request log, failure counters).
  bool record = true;
};

struct verify_result {
  verify_code code = verify_code::malformed;
  std::shared_ptr<const key_entry> key;  ///< set whenever the key was found (also if refused)
  std::chrono::seconds retry_after{0};   ///< RATE_LIMITED only
  bool valid() const noexcept { return code == verify_code::valid; }
};

/// Verification, shared by POST /v1/keys/verify, GET /v1/check and API authentication. Runs on
/// I/O threads: parse, one HMAC, one hash-map probe, the checks, a rate-limit counter, and a
/// record handed to the usage buffer. Never touches Postgres. Thread-safe.
class verifier {
 public:
  verifier(const active_key_view& view, const infra::hmac_key_hasher& hasher,
           rate_limiter& limiter, usage_recorder& usage, const domain::clock& clock);

  verify_result verify(const verify_request& request) const;

 private:
  const active_key_view& view_;
  const infra::hmac_key_hasher& hasher_;
  rate_limiter& limiter_;
  usage_recorder& usage_;
  const domain::clock& clock_;
};

}  // namespace keyledger::services

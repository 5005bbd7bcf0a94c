#include "services/app/verifier.hpp"

#include <optional>

#include <algorithm>

#include "domain/keys/key_format.hpp"
#include "infra/crypto/crypto.hpp"
#include "services/app/rate_limiter.hpp"
#include "services/app/usage_recorder.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services {

std::string_view to_string(verify_code c) noexcept {
  switch (c) {
    case verify_code::valid:
      return "VALID";
    case verify_code::malformed:
      return "MALFORMED";
    case verify_code::not_found:
      return "NOT_FOUND";
    case verify_code::revoked:
      return "REVOKED";
    case verify_code::expired:
      return "EXPIRED";
    case verify_code::disabled:
      return "DISABLED";
    case verify_code::wrong_environment:
      return "WRONG_ENVIRONMENT";
    case verify_code::forbidden_ip:
      return "FORBIDDEN_IP";
    case verify_code::insufficient_scope:
      return "INSUFFICIENT_SCOPE";
    case verify_code::rate_limited:
      return "RATE_LIMITED";
  }
  return "MALFORMED";
}

unsigned http_status_of(verify_code c) noexcept {
  switch (c) {
    case verify_code::valid:
      return 200;
    case verify_code::malformed:
    case verify_code::not_found:
    case verify_code::revoked:
    case verify_code::expired:
    case verify_code::disabled:
      return 401;
    case verify_code::wrong_environment:
    case verify_code::forbidden_ip:
    case verify_code::insufficient_scope:
      return 403;
    case verify_code::rate_limited:
      return 429;
  }
  return 401;
}

verifier::verifier(const active_key_view& view, const infra::hmac_key_hasher& hasher,
                   rate_limiter& limiter, usage_recorder& usage, const domain::clock& clock)
    : view_(view), hasher_(hasher), limiter_(limiter), usage_(usage), clock_(clock) {}

namespace {

std::int64_t micros(domain::timestamp t) noexcept { return t.time_since_epoch().count(); }

// The checks a found key goes through, in the documented order; the rate limit is not here:
// it runs only once every other check has passed.
verify_code check_key(const key_entry& key, const verify_request& request,
                      domain::timestamp now) noexcept {
  switch (key.status_at(now)) {
    case domain::key_status::revoked:
      return verify_code::revoked;
    case domain::key_status::expired:
      return verify_code::expired;
    case domain::key_status::disabled:
      return verify_code::disabled;
    case domain::key_status::active:
      break;
  }
  // Exact match: a test key never passes a check that requires live (nor the reverse).
  if (request.env && key.env() != *request.env) return verify_code::wrong_environment;
  if (!key.allowed_cidrs().empty()) {
    // An unknown client address cannot be shown to be inside the allowed networks: refuse.
    if (!request.ip || !domain::ip_allowed(key.allowed_cidrs(), *request.ip)) {
      return verify_code::forbidden_ip;
    }
  }
  for (const auto& scope : request.required_scopes) {
    if (!key.has_scope(scope)) return verify_code::insufficient_scope;
  }
  return verify_code::valid;
}

}  // namespace

verify_result verifier::verify(const verify_request& request) const {
  verify_result result;
  const domain::timestamp now = clock_.now();

  const auto parsed = domain::parse_key(request.key);
  if (!parsed) {
    // A bad checksum or a typo still names the workspace in its prefix; the count is an
    // attribution of attempts (like NOT_FOUND's), not a trust decision. Anything without a
    // well-formed prefix is counted without a workspace.
    result.code = verify_code::malformed;
    if (request.record) {
      const auto text = request.key;
      const auto underscore = text.find('_');
      std::optional<std::string> workspace;
      if (underscore != std::string_view::npos &&
          domain::valid_key_prefix(text.substr(0, underscore))) {
        workspace = view_.workspace_for_prefix(text.substr(0, underscore));
      }
      usage_.record_failure(workspace ? *workspace : std::string_view(),
                            request.ip ? domain::to_string(*request.ip) : std::string(),
                            to_string(result.code), micros(now));
    }
    return result;
  }

  result.key = view_.find(hasher_.hash(request.key));
  if (!result.key) {
    result.code = verify_code::not_found;
    if (request.record) {
      const auto workspace = view_.workspace_for_prefix(parsed->prefix);
      usage_.record_failure(workspace ? *workspace : std::string_view(),
                            request.ip ? domain::to_string(*request.ip) : std::string(),
                            to_string(result.code), micros(now));
    }
    return result;
  }

  const key_entry& key = *result.key;
  result.code = check_key(key, request, now);
  if (result.code == verify_code::valid && key.limit()) {
    // Last, so that a request refused for any other reason never uses up the limit.
    result.retry_after = limiter_.try_acquire(key.key_id(), *key.limit(), now);
    if (result.retry_after.count() > 0) result.code = verify_code::rate_limited;
  }

  if (request.record) {
    // Views only: the recorder copies strings just when the use opens a new bucket.
    const std::string ip = request.ip ? domain::to_string(*request.ip) : std::string();
    const usage_recorder::use_ref use{key.key_id(),      key.workspace_id(),
                                      ip,                to_string(result.code),
                                      micros(now),       !key.off_the_record()};
    if (result.code != verify_code::valid) {
      usage_.record_failure(use.workspace_id, use.ip, use.code, use.at_us);
    }
    usage_.record_use(use);
  }
  return result;
}

}  // namespace keyledger::services

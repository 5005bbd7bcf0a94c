#pragma once

// Leaked-key reports (GitHub secret scanning's partner format), after the signature was
// checked: each reported string is judged offline (keyledger key format and checksum), then by
// keyed hash against the key view; a key that matches is revoked or disabled at once (the
// workspace's on_leak) with a KeyLeaked event. Unknown strings change nothing and are counted.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/crypto/secret.hpp"

namespace keyledger::infra {
class hmac_key_hasher;
}

namespace keyledger::services {

class active_key_view;
class key_service;
class usage_recorder;
class workspace_service;

/// One string a reporter found, with where it was found. Shape already checked by the caller
/// (domain::valid_leak_type, valid_leak_url, valid_leak_source).
struct reported_string {
  infra::secret token;  ///< the reported text: possibly a live key, never logged or stored
  std::string type;     ///< the reporter's name for the kind of secret, echoed back
  std::string url;      ///< where it was found ("" when not given)
  std::string source = "unknown";
};

/// The answer for one reported string, in GitHub's feedback format. The token itself is never
/// echoed: `token_hash` is the hex SHA-256 of the reported text (GitHub's "token_hash").
struct leak_verdict {
  std::string token_hash;
  std::string token_type;
  bool true_positive = false;  ///< "true_positive": a key keyledger issued; else "false_positive"
};

/// What one report held and did (the log line, and the caller's summary).
struct leak_counts {
  std::size_t strings = 0;          ///< reported strings
  std::size_t revoked = 0;          ///< keys revoked by this report
  std::size_t disabled = 0;         ///< keys disabled by this report (on_leak disable)
  std::size_t already_refused = 0;  ///< keys already revoked/expired/disabled: KeyLeaked only
  std::size_t repeated = 0;   ///< keys this very report had already been recorded for (a retry)
  std::size_t unknown = 0;    ///< well-formed keyledger keys that match no key
  std::size_t malformed = 0;  ///< not a keyledger key (format or checksum): never looked up
};

struct leak_outcome {
  std::vector<leak_verdict> verdicts;  ///< one per reported string, in order
  leak_counts counts;
  std::uint64_t last_seq = 0;  ///< the last global position appended (0: nothing)
};

/// Who sent the report (recorded as event metadata: actor "leak-reporter:<key id>").
struct leak_reporter_context {
  std::string reporter_key_id;
  std::string request_id;
  std::string source_ip;
  std::string idempotency_key;
};

/// Stateless apart from its thread-safe collaborators; runs on blocking-pool threads with that
/// thread's store.
class leak_service {
 public:
  leak_service(const active_key_view& view, const key_service& keys,
               const workspace_service& workspaces, const infra::hmac_key_hasher& hasher,
               usage_recorder& usage, const domain::clock& clock);

  /// Judges every string and acts on the keys found; `report_id` (the hex SHA-256 of the
  /// report's exact bytes) makes a redelivered report append nothing twice. A key named twice
  /// in one report is acted on once. Unknown and malformed strings are counted in the failure
  /// counters (codes LEAK_UNKNOWN and LEAK_MALFORMED, attributed to the workspace whose prefix
  /// they carry when one does; GET /v1/auth-failures) and in the report's log line
  /// ("leak_report"). Storage errors propagate as infra::error: the caller answers 5xx and the
  /// reporter delivers the report again.
  leak_outcome handle(infra::event_store& store, std::span<const reported_string> report,
                      std::string_view report_id, const leak_reporter_context& from) const;

 private:
  const active_key_view& view_;
  const key_service& keys_;
  const workspace_service& workspaces_;
  const infra::hmac_key_hasher& hasher_;
  usage_recorder& usage_;
  const domain::clock& clock_;
};

}  // namespace keyledger::services

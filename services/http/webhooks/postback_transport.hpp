#pragma once

// The HTTP side of postbacks (issue 10): one signed POST with infra::http_client, under the
// rules of docs/webhooks.md "Sending" - a deadline for the whole attempt, no redirect followed
// (any status is an answer), the body read up to 64 KiB, TLS verified against the system CA
// store (or a configured CA file), and only addresses that are public unicast (or explicitly
// allowed) connected to, checked after name resolution.

#include <chrono>
#include <string>
#include <vector>

#include "domain/net.hpp"
#include "services/app/webhooks/postback_sender.hpp"

namespace keyledger::services::http {

struct postback_transport_options {
  std::chrono::milliseconds timeout{10'000};
  std::vector<domain::cidr> allow_private;
  std::string ca_file;  ///< "" = the system CA store
  std::size_t response_body_limit = 64 * 1024;
};

/// A postback_transport over HTTP(S). Each call opens its own connection (thread-safe).
postback_transport make_postback_transport(postback_transport_options options);

/// "scheme://authority" and the request target ("/path?query"; "/" when empty) of a URL that
/// passed domain::valid_postback_url.
std::pair<std::string, std::string> split_postback_url(std::string_view url);

}  // namespace keyledger::services::http

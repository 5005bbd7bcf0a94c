#pragma once

// The authorization server's pages - log in, consent, error - in one place, for the web console
// to restyle later (issue 11). Plain server-rendered HTML: no script, no external asset; the one
// stylesheet is inline and allowed by its hash. Every page answers with
//   Content-Security-Policy: default-src 'none'; style-src 'sha256-...'; form-action <targets>;
//                            frame-ancestors 'none'; base-uri 'none'
//   X-Frame-Options: DENY, Cache-Control: no-store, Referrer-Policy: same-origin,
//   X-Content-Type-Options: nosniff.
// Every value shown is escaped.

#include <string>
#include <string_view>
#include <vector>

#include "domain/problem.hpp"
#include "infra/http/server.hpp"

namespace keyledger::services::http {

struct login_page {
  std::string_view client_name;
  std::string_view interaction;  ///< the sealed authorization request, posted back as is
  std::string_view email;        ///< prefilled after a failed attempt
  std::string_view error;        ///< "" or what went wrong, for the person
  /// The origin the flow ends at (the client's redirect URI's): a form submission may redirect
  /// there, so form-action must allow it.
  std::string_view redirect_origin;
};

struct consent_choice {
  std::string workspace_id;
  std::string name;
  std::string role;
};

struct consent_page {
  std::string_view client_name;
  std::string_view client_id;
  std::string_view user_email;
  std::vector<std::string> scopes;  ///< shown in words (scope_in_words) with the scope itself
  std::vector<consent_choice> workspaces;  ///< at least one; a choice when several
  std::string_view interaction;
  std::string_view csrf_token;
  std::string_view redirect_origin;
};

/// "leads:read" -> "Read your leads"; "leads:write" -> "Create and change your leads";
/// "calendar:delete" -> "Delete your calendar"; any other action -> "<action> your <resource>".
std::string scope_in_words(std::string_view scope);

infra::http_response render(const login_page& page, unsigned status = 200);
infra::http_response render(const consent_page& page);
/// A problem the person must see (a request that cannot be sent back to the client).
infra::http_response error_page(const domain::problem& p, std::string_view request_id);

/// "scheme://host[:port]" of an absolute URI; "" when it has none.
std::string origin_of(std::string_view uri);

}  // namespace keyledger::services::http

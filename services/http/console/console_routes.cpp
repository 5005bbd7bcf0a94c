#include "services/http/console/console_routes.hpp"

#include <algorithm>
#include <string>

#include "services/http/console/console_assets.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {
namespace {

const console_asset* find_asset(std::string_view name) {
  const auto all = console_assets();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const console_asset& a) { return a.name == name; });
  return it == all.end() ? nullptr : &*it;
}

infra::http_response asset_response(const console_asset& a) {
  infra::http_response r;
  r.status = 200;
  r.body = std::string(a.bytes);
  r.content_type = a.content_type;
  add_console_headers(r);
  return r;
}

void page(call& c) {
  const auto* index = find_asset("index.html");
  if (index == nullptr)
    return answer(c, domain::problem::of(domain::problem_kind::not_found, "NOT_FOUND"));
  c.respond(asset_response(*index));
}

void file(call& c) {
  // Only the embedded files, by exact name: no path, no directory, nothing else.
  const auto* a = c.path_id == "index.html" ? nullptr : find_asset(c.path_id);
  if (a == nullptr)
    return answer(c, domain::problem::of(domain::problem_kind::not_found, "NOT_FOUND"));
  c.respond(asset_response(*a));
}

void to_page(call& c) {
  infra::http_response r;
  r.status = 308;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", "/console/");
  add_console_headers(r);
  c.respond(std::move(r));
}

}  // namespace

void add_console_headers(infra::http_response& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "connect-src 'self'; img-src 'self'; form-action 'self'; "
                         "frame-ancestors 'none'; base-uri 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  // The page is small and changes with the binary: never a stale copy after an upgrade.
  r.headers.emplace_back("Cache-Control", "no-store");
}

void add_console_routes(route_table& t) {
  t.add({"/console", {{"GET", {}, "", {}, false, false, to_page}}});
  t.add({"/console/", {{"GET", {}, "", {}, false, false, page}}});
  t.add({"/console/{id}", {{"GET", {}, "", {}, false, false, file}}});
}

}  // namespace keyledger::services::http

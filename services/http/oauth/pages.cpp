#include "services/http/oauth/pages.hpp"

#include "domain/encoding.hpp"
#include "services/http/errors/errors.hpp"

namespace keyledger::services::http {
namespace {

infra::http_response page(unsigned status, std::string_view title, const std::string& body,
                          std::string_view redirect_origin) {
  infra::http_response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<meta name=\"referrer\" content=\"same-origin\"><title>" +
      html_escape(title) +
      // The console's stylesheet and icon (services/http/console/assets): one look, one place.
      "</title><link rel=\"icon\" href=\"/console/favicon.svg\" type=\"image/svg+xml\">"
      "<link rel=\"stylesheet\" href=\"/console/console.css\"></head><body>"
      "<header class=\"bar\"><span class=\"brand\">keyledger</span></header>"
      "<main><div class=\"card login oauth\">" +
      body + "</div></main></body></html>\n";
  std::string form_action = "'self'";
  if (!redirect_origin.empty()) form_action += " " + std::string(redirect_origin);
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'self'; img-src 'self'; form-action " +
                             form_action + "; frame-ancestors 'none'; base-uri 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  // Not no-referrer: under it a browser sends "Origin: null" with the page's own form posts
  // (Fetch, "append a request Origin header"), which the Origin check must refuse.
  // same-origin still sends nothing to any other origin.
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

std::string hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + html_escape(name) + "\" value=\"" + html_escape(value) +
         "\">";
}

}  // namespace

std::string origin_of(std::string_view uri) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const auto host_end = uri.find_first_of("/?#", scheme_end + 3);
  return std::string(uri.substr(0, host_end));
}

std::string scope_in_words(std::string_view scope) {
  const auto colon = scope.find(':');
  if (colon == std::string_view::npos) return std::string(scope);
  std::string resource(scope.substr(0, colon));
  for (char& c : resource) {
    if (c == '_' || c == '-' || c == '.') c = ' ';
  }
  const auto action = scope.substr(colon + 1);
  std::string verb;
  if (action == "read") {
    verb = "Read";
  } else if (action == "write") {
    verb = "Create and change";
  } else if (action == "delete") {
    verb = "Delete";
  } else {
    verb = std::string(action);
    if (!verb.empty()) verb[0] = domain::is_ascii_lower(verb[0]) ? verb[0] - 'a' + 'A' : verb[0];
  }
  return verb + " your " + resource;
}

infra::http_response render(const login_page& p, unsigned status) {
  std::string body = "<h1>Log in to continue to " + html_escape(p.client_name) + "</h1>";
  if (!p.error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + html_escape(p.error) + "</p>";
  }
  body += "<form method=\"post\" action=\"/oauth/login\">" + hidden("interaction", p.interaction) +
          "<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" "
          "autocomplete=\"username\" required value=\"" +
          html_escape(p.email) +
          "\"><label for=\"password\">Password</label><input id=\"password\" name=\"password\" "
          "type=\"password\" autocomplete=\"current-password\" required>"
          "<button class=\"allow\" type=\"submit\">Log in</button></form>";
  return page(status, "Log in", body, p.redirect_origin);
}

infra::http_response render(const consent_page& p) {
  std::string body = "<h1>" + html_escape(p.client_name) + " wants access</h1><p>Signed in as " +
                     html_escape(p.user_email) + ". <strong>" + html_escape(p.client_name) +
                     "</strong> <code>" + html_escape(p.client_id) + "</code> asks to:</p><ul>";
  for (const auto& s : p.scopes) {
    body += "<li>" + html_escape(scope_in_words(s)) + " <code>" + html_escape(s) + "</code></li>";
  }
  body += "</ul><form method=\"post\" action=\"/oauth/authorize\">" +
          hidden("interaction", p.interaction) + hidden("csrf_token", p.csrf_token);
  if (p.workspaces.size() == 1) {
    const auto& w = p.workspaces.front();
    body += "<p>In the workspace <strong>" + html_escape(w.name) +
            "</strong> (your role: " + html_escape(w.role) + ").</p>" +
            hidden("workspace_id", w.workspace_id);
  } else {
    body +=
        "<label for=\"workspace_id\">In the workspace</label><select id=\"workspace_id\" "
        "name=\"workspace_id\" required>";
    for (const auto& w : p.workspaces) {
      body += "<option value=\"" + html_escape(w.workspace_id) + "\">" + html_escape(w.name) +
              " (" + html_escape(w.role) + ")</option>";
    }
    body += "</select>";
  }
  body +=
      "<button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow"
      "</button><button class=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">"
      "Deny</button></form>";
  return page(200, "Allow access", body, p.redirect_origin);
}

infra::http_response error_page(const domain::problem& p, std::string_view request_id) {
  return page(status_of(p.kind), "Something is wrong",
              "<h1>This request cannot go on</h1><p class=\"error\" role=\"alert\">" +
                  html_escape(p.text.empty() ? std::string(p.code) : p.text) +
                  "</p><p><small>Request " + html_escape(request_id) + "</small></p>",
              {});
}

}  // namespace keyledger::services::http

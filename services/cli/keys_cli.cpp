#include "services/cli/keys_cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/text.hpp"
#include "infra/http/client.hpp"
#include "infra/json/json.hpp"
#include "services/cli/cli_support.hpp"

namespace keyledger::services {

using namespace cli;

namespace {

constexpr std::string_view default_url = "http://127.0.0.1:8080";
/// --all stops here rather than follow a server that never ends a list.
constexpr std::size_t max_pages = 10000;

constexpr std::string_view environment_help =
    "Environment:\n"
    "  KEYLEDGER_URL      the server, http[s]://host[:port][/path] (default\n"
    "                     http://127.0.0.1:8080). https verifies the server's certificate.\n"
    "  KEYLEDGER_CA_FILE  https: a PEM file of the CA(s) to trust instead of the system's\n"
    "                     (a private CA).\n"
    "  KEYLEDGER_API_KEY  the API key to act with (required; keys:read to list, keys:write to\n"
    "                     create, rotate and revoke). Never given as an argument.\n"
    "Exit status: 0 success, 1 refused by the API or server unreachable, 2 usage.";

}  // namespace

// ---- the command ----------------------------------------------------------------------------

struct keys_command::state {
  CLI::App* keys = nullptr;
  CLI::App* list = nullptr;
  CLI::App* create = nullptr;
  CLI::App* rotate = nullptr;
  CLI::App* revoke = nullptr;

  struct {
    std::string name;
    std::string environment;
    std::string status;
    int limit = 0;
    std::string cursor;
    bool all = false;
    bool json = false;
  } list_options;

  struct {
    std::string name;
    std::string environment;
    std::vector<std::string> scopes;
    int expires_in_days = 0;
    CLI::Option* expires_in_days_option = nullptr;
    bool never_expires = false;
    std::vector<std::string> cidrs;
    bool json = false;
  } create_options;

  struct {
    std::string id;
    long long grace_period_seconds = 0;
    CLI::Option* grace_option = nullptr;
    bool json = false;
  } rotate_options;

  struct {
    std::string id;
  } revoke_options;

  int run_list(api_session& api, std::ostream& out, std::ostream& err);
  int run_create(api_session& api, std::ostream& out, std::ostream& err);
  int run_rotate(api_session& api, std::ostream& out, std::ostream& err);
  int run_revoke(api_session& api, std::ostream& out, std::ostream& err);
};

keys_command::keys_command(CLI::App& app) : state_(std::make_unique<state>()) {
  auto& s = *state_;
  const std::string footer(environment_help);
  s.keys = app.add_subcommand(
      "keys",
      "Manage a running server's API keys over HTTP: list, create, rotate, revoke "
      "(KEYLEDGER_URL, KEYLEDGER_API_KEY)");
  s.keys->require_subcommand(1);
  s.keys->footer(footer);

  // keys list
  auto& l = s.list_options;
  s.list = s.keys->add_subcommand("list", "List keys, newest first, as a table (or --json)");
  s.list->add_option("--name", l.name, "Only keys whose name contains this (case-insensitive)");
  s.list->add_option("--environment", l.environment, "Only live or test keys")
      ->check(CLI::IsMember({"live", "test"}));
  s.list->add_option("--status", l.status, "Only keys in this state")
      ->check(CLI::IsMember({"active", "revoked", "expired", "disabled"}));
  s.list->add_option("--limit", l.limit, "Keys per page, 1-100 (server default 20)")
      ->check(CLI::Range(1, 100));
  s.list->add_option("--cursor", l.cursor, "Continue a list from a previous page's cursor");
  s.list->add_flag("--all", l.all, "Follow the pages to the end of the list");
  s.list->add_flag("--json", l.json,
                   "Print the API's JSON ({\"data\":[...],\"next_cursor\":...}); with --all, "
                   "one object holding every page's keys");
  s.list->footer(footer);

  // keys create
  auto& c = s.create_options;
  s.create = s.keys->add_subcommand(
      "create", "Create a key; prints its secret once on stdout (a warning goes to stderr)");
  s.create->add_option("--name", c.name, "A name saying what the key is for (1-64 characters)")
      ->required();
  s.create->add_option("--environment", c.environment, "live (real data) or test (sandbox)")
      ->required()
      ->check(CLI::IsMember({"live", "test"}));
  s.create
      ->add_option("--scope", c.scopes,
                   "A resource:action scope; repeat it (or separate with commas) for several")
      ->delimiter(',');
  c.expires_in_days_option =
      s.create
          ->add_option("--expires-in-days", c.expires_in_days,
                       "Lifespan in days (default: the workspace's default lifespan)")
          ->check(CLI::PositiveNumber);
  s.create
      ->add_flag("--never-expires", c.never_expires,
                 "No expiry (only where the workspace allows keys without one)")
      ->excludes(c.expires_in_days_option);
  s.create
      ->add_option("--cidr", c.cidrs,
                   "Accept the key only from this CIDR or address; repeat (or separate with "
                   "commas) for several")
      ->delimiter(',');
  s.create->add_flag("--json", c.json, "Print the API's JSON (the key object with \"key\")");
  s.create->footer(footer);

  // keys rotate
  auto& r = s.rotate_options;
  s.rotate = s.keys->add_subcommand(
      "rotate",
      "Replace a key by a new one with the same settings; prints the new secret once. The old "
      "key keeps working for the grace period");
  s.rotate->add_option("id", r.id, "The id of the key to rotate (key_...)")->required();
  r.grace_option = s.rotate
                       ->add_option("--grace-period-seconds", r.grace_period_seconds,
                                    "How long the old key keeps working, 0-2592000 (server "
                                    "default 86400; 0 = it stops at once)")
                       ->check(CLI::Range(0LL, 2592000LL));
  s.rotate->add_flag("--json", r.json, "Print the API's JSON (the new key object with \"key\")");
  s.rotate->footer(footer);

  // keys revoke
  s.revoke = s.keys->add_subcommand(
      "revoke", "Revoke a key, immediately and for good (revoking it again changes nothing)");
  s.revoke->add_option("id", s.revoke_options.id, "The id of the key to revoke (key_...)")
      ->required();
  s.revoke->footer(footer);
}

keys_command::~keys_command() = default;

bool keys_command::chosen() const { return state_->keys->parsed(); }

int keys_command::run() { return run(cli_environment_from_env(), std::cout, std::cerr); }

int keys_command::run(const cli_environment& env, std::ostream& out, std::ostream& err) {
  auto& s = *state_;
  const std::string url = env.url.empty() ? std::string(default_url) : env.url;
  auto endpoint = infra::parse_http_url(url);
  if (!endpoint) {
    err << "keyledger: KEYLEDGER_URL: " << endpoint.error() << "\n";
    return cli_exit_usage;
  }
  const std::string key(domain::trim_ascii(env.api_key));
  if (key.empty()) {
    err << "keyledger: KEYLEDGER_API_KEY is not set: export the API key to act with (a key "
           "with keys:read to list, keys:write to change keys; `keyledger bootstrap` prints a "
           "workspace's first one)\n";
    return cli_exit_usage;
  }
  if (std::any_of(key.begin(), key.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
      })) {
    err << "keyledger: KEYLEDGER_API_KEY contains control characters\n";
    return cli_exit_usage;
  }

  try {
    infra::http_client_options client_options;
    client_options.ca_file = env.ca_file;
    api_session api(std::move(endpoint.value()), key, std::move(client_options));
    if (s.list->parsed()) return s.run_list(api, out, err);
    if (s.create->parsed()) return s.run_create(api, out, err);
    if (s.rotate->parsed()) return s.run_rotate(api, out, err);
    if (s.revoke->parsed()) return s.run_revoke(api, out, err);
  } catch (const std::exception& e) {
    err << "keyledger: " << redact(e.what(), key) << "\n";
    return cli_exit_error;
  }
  err << "keyledger: keys needs a subcommand: list, create, rotate or revoke\n";
  return cli_exit_usage;
}

int keys_command::state::run_list(api_session& api, std::ostream& out, std::ostream& err) {
  const auto& o = list_options;
  std::string query;
  const auto add = [&query](std::string_view name, std::string_view value) {
    query += query.empty() ? '?' : '&';
    query += std::string(name) + "=" + percent_encode(value);
  };
  if (!o.name.empty()) add("name", o.name);
  if (!o.environment.empty()) add("environment", o.environment);
  if (!o.status.empty()) add("status", o.status);
  // --all without --limit takes the largest pages: fewer round trips.
  if (o.limit > 0) {
    add("limit", std::to_string(o.limit));
  } else if (o.all) {
    add("limit", "100");
  }

  // Every page's keys, in order.
  std::vector<infra::json_body> listed;
  std::optional<std::string> cursor =
      o.cursor.empty() ? std::nullopt : std::optional<std::string>(o.cursor);
  std::set<std::string> cursors_seen;
  for (std::size_t page = 0;; ++page) {
    if (page == max_pages) {
      err << "keyledger: the list did not end after " << max_pages << " pages\n";
      return cli_exit_error;
    }
    std::string target = "/v1/keys" + query;
    if (cursor) target += (query.empty() ? "?cursor=" : "&cursor=") + percent_encode(*cursor);
    auto r = api.call("GET", target, "", err);
    if (!r) return cli_exit_error;
    auto doc = parse_success(*r, err);
    if (!doc) return cli_exit_error;
    auto data = doc->get_object_array("data");
    if (!data || !data.value()) {
      err << "keyledger: the server's list answer has no \"data\" array\n";
      return cli_exit_error;
    }
    cursor = string_of(*doc, "next_cursor");
    if (!o.all && o.json) {
      print_raw(out, r->body, api.api_key());
      break;
    }
    for (auto& key : *data.value()) listed.push_back(std::move(key));
    if (!o.all || !cursor) break;
    if (!cursors_seen.insert(*cursor).second) {
      err << "keyledger: the server repeated a list cursor; stopping\n";
      return cli_exit_error;
    }
  }
  if (o.json && !o.all) return cli_exit_ok;

  if (o.json) {
    // Every page's keys as one answer of the same shape, ending the list.
    infra::json_writer combined;
    combined.begin_object().key("data").begin_array();
    for (const auto& key : listed) combined.value(key);
    combined.end_array().key("next_cursor").null().end_object();
    print_raw(out, combined.str(), api.api_key());
    return cli_exit_ok;
  }

  std::vector<std::vector<std::string>> rows{table_header()};
  for (const auto& key : listed) rows.push_back(key_row(key));
  if (rows.size() == 1) {
    out << "No keys.\n";
  } else {
    out << redact(
        [&] {
          std::ostringstream table;
          print_table(table, rows);
          return table.str();
        }(),
        api.api_key());
  }
  if (cursor && !o.all) {
    err << "More keys follow: add --all, or --cursor " << printable(*cursor) << "\n";
  }
  return cli_exit_ok;
}

namespace {

/// After create or rotate: the secret alone on stdout (easy to capture), the rest on stderr.
int print_new_key(const infra::client_response& r, bool json, std::string_view what,
                  std::string_view api_key, std::ostream& out, std::ostream& err) {
  auto doc = parse_success(r, err);
  if (!doc) return cli_exit_error;
  const auto secret = string_of(*doc, "key");
  if (!secret) {
    err << "keyledger: the server's answer holds no \"key\"\n";
    return cli_exit_error;
  }
  if (json) {
    err << "keyledger: the answer's \"key\" is the secret, shown only this once: store it now, "
           "it cannot be retrieved again.\n";
    print_raw(out, r.body, api_key);
    return cli_exit_ok;
  }
  const auto expires = string_of(*doc, "expires_at");
  const auto scopes = strings_of(*doc, "scopes");
  std::string summary = std::string(what) + " " + printable(string_of(*doc, "id").value_or("?")) +
                        " \"" + printable(string_of(*doc, "name").value_or("")) + "\" (" +
                        printable(string_of(*doc, "environment").value_or("?")) + ", expires " +
                        (expires ? short_time(*expires) + " UTC" : std::string("never")) +
                        ", scopes: " + (scopes.empty() ? "none" : printable(join(scopes, " "))) +
                        ")";
  err << redact(summary, api_key) << "\n"
      << "The key below is shown only this once: store it now, it cannot be retrieved again.\n";
  err.flush();
  out << printable(*secret) << std::endl;
  return cli_exit_ok;
}

}  // namespace

int keys_command::state::run_create(api_session& api, std::ostream& out, std::ostream& err) {
  const auto& o = create_options;
  infra::json_writer body;
  body.begin_object().field("name", o.name).field("environment", o.environment);
  if (!o.scopes.empty()) {
    body.key("scopes").begin_array();
    for (const auto& scope : o.scopes) body.string(scope);
    body.end_array();
  }
  if (o.expires_in_days_option->count() > 0) {
    body.field("expires_in_days", static_cast<std::int64_t>(o.expires_in_days));
  }
  if (o.never_expires) body.key("expires_at").null();
  if (!o.cidrs.empty()) {
    body.key("allowed_cidrs").begin_array();
    for (const auto& cidr : o.cidrs) body.string(cidr);
    body.end_array();
  }
  body.end_object();
  auto r = api.call("POST", "/v1/keys", body.take(), err);
  if (!r) return cli_exit_error;
  return print_new_key(*r, o.json, "Created key", api.api_key(), out, err);
}

int keys_command::state::run_rotate(api_session& api, std::ostream& out, std::ostream& err) {
  const auto& o = rotate_options;
  std::string body;
  if (o.grace_option->count() > 0) {
    infra::json_writer w;
    w.begin_object()
        .field("grace_period_seconds", static_cast<std::int64_t>(o.grace_period_seconds))
        .end_object();
    body = w.take();
  }
  auto r = api.call("POST", "/v1/keys/" + percent_encode(o.id) + "/rotate", body, err);
  if (!r) return cli_exit_error;
  const int code = print_new_key(*r, o.json, "Rotated " + printable(o.id) + "; the new key is",
                                 api.api_key(), out, err);
  if (code == cli_exit_ok && !o.json) {
    err << "The old key keeps working for "
        << (o.grace_option->count() > 0
                ? std::to_string(o.grace_period_seconds) + " s"
                : std::string("the server's default grace period (86400 s)"))
        << ", never past its own expiry.\n";
  }
  return code;
}

int keys_command::state::run_revoke(api_session& api, std::ostream& out, std::ostream& err) {
  const auto& id = revoke_options.id;
  auto r = api.call("DELETE", "/v1/keys/" + percent_encode(id), "", err);
  if (!r) return cli_exit_error;
  out << "Revoked " << printable(id) << ".\n";
  return cli_exit_ok;
}

cli_environment cli_environment_from_env() {
  const auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  return {get("KEYLEDGER_URL"), get("KEYLEDGER_API_KEY"), get("KEYLEDGER_CA_FILE")};
}

int usage_exit_code(CLI::App& app, const CLI::ParseError& error) {
  const int code = app.exit(error);
  return code == 0 ? cli_exit_ok : cli_exit_usage;
}

}  // namespace keyledger::services

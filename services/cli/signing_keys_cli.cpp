#include "services/cli/signing_keys_cli.hpp"

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "domain/oauth/signing_keys.hpp"
#include "infra/crypto/aead.hpp"
#include "infra/json/json.hpp"
#include "services/app/oauth/signing_key_ring.hpp"
#include "services/app/oauth/signing_key_service.hpp"
#include "services/cli/cli_support.hpp"
#include "services/cli/keys_cli.hpp"

namespace keyledger::services {

namespace {

namespace oauth = domain::oauth;

constexpr std::string_view environment_help =
    "Environment:\n"
    "  DATABASE_URL           the servers' PostgreSQL (required)\n"
    "  KEYLEDGER_DATA_DIR     the servers' data dir, holding server.secret (rotate only)\n"
    "  KEYLEDGER_SECRET_FILE  or the servers' secret file (rotate only); never created here\n"
    "Exit status: 0 done, 1 refused or failed, 2 usage.";

std::string time_text(const std::optional<domain::timestamp>& t) {
  return t ? domain::format_timestamp(*t) : std::string();
}

void write_time_or_null(infra::json_writer& w, std::string_view name,
                        const std::optional<domain::timestamp>& t) {
  infra::write_timestamp_or_null(w, name, t);
}

std::string short_or_dash(const std::optional<domain::timestamp>& t) {
  return t ? cli::short_time(time_text(t)) : std::string("-");
}

}  // namespace

struct signing_keys_command::state {
  CLI::App* group = nullptr;
  CLI::App* list = nullptr;
  CLI::App* rotate = nullptr;
  bool list_json = false;
  bool rotate_json = false;
  bool immediately = false;

  int run_list(const signing_keys_cli_dependencies& d, std::ostream& out) const;
  int run_rotate(const signing_keys_cli_dependencies& d, std::ostream& out,
                 std::ostream& err) const;
};

signing_keys_command::signing_keys_command(CLI::App& app) : state_(std::make_unique<state>()) {
  auto& s = *state_;
  const std::string footer(environment_help);
  s.group = app.add_subcommand(
      "signing-keys",
      "The OAuth access-token signing keys, in the database (DATABASE_URL): list, rotate");
  s.group->require_subcommand(1);
  s.group->footer(footer);

  s.list = s.group->add_subcommand(
      "list",
      "Every signing key: kid, status, created, activate after, activated, retired, "
      "published until (or --json)");
  s.list->add_flag("--json", s.list_json, "Print {\"keys\":[...]} with RFC 3339 times");
  s.list->footer(footer);

  s.rotate = s.group->add_subcommand(
      "rotate",
      "Make a new key now: published at once, signing after the 24 h overlap (so verifiers "
      "that cache the JWKS know it first). Refused while a key already waits.");
  s.rotate->add_flag(
      "--immediately", s.immediately,
      "For a leaked key: the new key signs at once and every earlier key is unpublished - "
      "tokens they signed are refused here at once and by verifiers once their cached JWKS "
      "expires (at most 300 s)");
  s.rotate->add_flag("--json", s.rotate_json, "Print the new key as JSON");
  s.rotate->footer(footer);
}

signing_keys_command::~signing_keys_command() = default;

bool signing_keys_command::chosen() const { return state_->group->parsed(); }

int signing_keys_command::run(const signing_keys_cli_dependencies& deps, std::ostream& out,
                              std::ostream& err) {
  if (state_->list->parsed()) return state_->run_list(deps, out);
  if (state_->rotate->parsed()) return state_->run_rotate(deps, out, err);
  err << "keyledger signing-keys: choose list or rotate\n";
  return cli_exit_usage;
}

int signing_keys_command::state::run_list(const signing_keys_cli_dependencies& d,
                                          std::ostream& out) const {
  // Listing needs no secret: the events hold everything shown (public halves only).
  const auto state = load_signing_keys(d.events);
  const auto now = d.clock.now();
  if (list_json) {
    infra::json_writer w;
    w.begin_object().key("keys").begin_array();
    for (const auto& k : state.keys) {
      w.begin_object()
          .field("kid", k.kid)
          .field("status", oauth::to_string(k.status))
          .field("alg", k.alg);
      infra::write_timestamp(w, "created_at", k.created_at);
      infra::write_timestamp(w, "activate_after", k.activate_after);
      write_time_or_null(w, "activated_at", k.activated_at);
      write_time_or_null(w, "retired_at", k.retired_at);
      write_time_or_null(w, "publish_until", k.publish_until);
      w.field("published", oauth::is_published(k, now)).end_object();
    }
    w.end_array().end_object();
    out << w.str() << "\n";
    return cli_exit_ok;
  }
  std::vector<std::vector<std::string>> rows = {
      {"KID", "STATUS", "CREATED", "ACTIVATE AFTER", "ACTIVATED", "RETIRED", "PUBLISHED UNTIL"}};
  for (const auto& k : state.keys) {
    std::string until = k.publish_until ? short_or_dash(k.publish_until) : "-";
    if (!oauth::is_published(k, now)) until += " (unpublished)";
    rows.push_back({k.kid, std::string(oauth::to_string(k.status)), short_or_dash(k.created_at),
                    short_or_dash(k.activate_after), short_or_dash(k.activated_at),
                    short_or_dash(k.retired_at), until});
  }
  if (state.keys.empty()) {
    out << "No signing keys yet: a server makes its first one when it starts.\n";
    return cli_exit_ok;
  }
  cli::print_table(out, rows);
  return cli_exit_ok;
}

int signing_keys_command::state::run_rotate(const signing_keys_cli_dependencies& d,
                                            std::ostream& out, std::ostream& err) const {
  const auto server_secret = d.server_secret();
  const infra::response_sealer sealer(
      infra::derive_key(server_secret.reveal(), signing_key_sealing_info));
  const signing_key_service keys(sealer, d.random, d.clock);
  const request_context ctx{"cli", domain::new_id("req", d.random), "", ""};
  const auto before = keys.load(d.events);
  const std::string previous_kid = before.active() ? before.active()->kid : std::string();
  auto rotated = keys.rotate(d.events, d.secrets, immediately, ctx);
  if (!rotated) {
    err << "keyledger signing-keys rotate: " << rotated.error().code << ": " << rotated.error().text
        << "\n";
    return cli_exit_error;
  }
  const auto state = keys.load(d.events);
  const auto* key = state.find(rotated->kid);
  if (key == nullptr) {
    err << "keyledger signing-keys rotate: the new key is not in the log\n";
    return cli_exit_error;
  }
  if (rotate_json) {
    infra::json_writer w;
    w.begin_object().field("kid", key->kid).field("status", oauth::to_string(key->status));
    infra::write_timestamp(w, "activate_after", key->activate_after);
    w.field("immediately", immediately).end_object();
    out << w.str() << "\n";
    return cli_exit_ok;
  }
  out << "Created signing key " << key->kid << ": ";
  if (key->status == oauth::signing_key_status::pending) {
    out << "published now, signs from " << domain::format_timestamp(key->activate_after) << " ("
        << previous_kid << " signs until then).\n";
  } else if (immediately) {
    out << "it signs from now. Every earlier key is unpublished: the tokens they signed are "
           "refused now, and by each verifier once its cached JWKS expires (at most 300 s).\n";
  } else {
    out << "it signs from now (no key was active).\n";
  }
  return cli_exit_ok;
}

}  // namespace keyledger::services

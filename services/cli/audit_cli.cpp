#include "services/cli/audit_cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>

#include "infra/core/error.hpp"
#include "infra/crypto/rfc6962_hasher.hpp"
#include "services/app/audit/checkpoint_key.hpp"
#include "services/app/audit/log_export.hpp"
#include "services/app/audit/offline_verifier.hpp"
#include "services/cli/keys_cli.hpp"

namespace keyledger::services {
namespace {

/// The whole content of a file, or nullopt.
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A verifier key given as itself or as a file holding it (one line).
std::string key_text(const std::string& arg) {
  if (arg.find('+') != std::string::npos) return arg;
  auto content = read_file(arg);
  if (!content) return arg;
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r')) {
    content->pop_back();
  }
  return *content;
}

}  // namespace

CLI::App& audit_group(CLI::App& app) {
  const auto found =
      app.get_subcommands([](const CLI::App* s) { return s->get_name() == "audit"; });
  if (!found.empty()) return *found.front();
  auto* group = app.add_subcommand(
      "audit",
      "The verifiable log: its checkpoint key, an export, an offline verification, a replay to "
      "any instant");
  group->require_subcommand(1);
  return *group;
}

struct audit_command::state {
  CLI::App* group = nullptr;
  CLI::App* public_key = nullptr;
  CLI::App* export_cmd = nullptr;
  CLI::App* verify = nullptr;
  std::string out_path;
  std::uint64_t since = 0;
  std::string file;
  std::string key;
  std::string older;
};

audit_command::audit_command(CLI::App& app) : state_(std::make_unique<state>()) {
  auto& s = *state_;
  s.group = &audit_group(app);
  s.public_key = s.group->add_subcommand(
      "public-key", "Print the log's verifier key (reads DATABASE_URL): what auditors verify with");
  s.export_cmd = s.group->add_subcommand(
      "export",
      "Write the log (events with their exact bytes, signed checkpoints) as NDJSON "
      "(reads DATABASE_URL)");
  s.export_cmd->add_option("--out", s.out_path, "The file to write ('-' for stdout)")->required();
  s.export_cmd->add_option("--since", s.since, "Only the events after this global_seq")
      ->capture_default_str();
  s.verify = s.group->add_subcommand(
      "verify", "Check an export or a workspace's events file offline: exit 0 when all holds");
  s.verify->add_option("FILE", s.file, "An export, or pages of GET /v1/audit/events")->required();
  s.verify
      ->add_option("--public-key", s.key,
                   "The log's verifier key (as `keyledger audit public-key` prints it), or a "
                   "file holding it")
      ->required();
  s.verify->add_option("--checkpoint", s.older,
                       "A file holding an older signed checkpoint: the log must extend it");
}

audit_command::~audit_command() = default;

bool audit_command::chosen() const {
  const auto& s = *state_;
  return s.public_key->parsed() || s.export_cmd->parsed() || s.verify->parsed();
}

int audit_command::run(const audit_cli_dependencies& d, std::ostream& out, std::ostream& err) {
  const auto& s = *state_;
  if (s.public_key->parsed()) {
    const auto row = d.audit().checkpoint_key();
    const auto key = row ? verifier_key_of(*row) : std::nullopt;
    if (!key) {
      err << "keyledger: the log has no checkpoint key yet (start a server once)\n";
      return cli_exit_error;
    }
    out << *key << '\n';
    return cli_exit_ok;
  }
  if (s.export_cmd->parsed()) {
    std::ofstream file;
    std::ostream* target = &out;
    if (s.out_path != "-") {
      file.open(s.out_path, std::ios::binary | std::ios::trunc);
      if (!file) {
        err << "keyledger: cannot write " << s.out_path << '\n';
        return cli_exit_error;
      }
      target = &file;
    }
    const auto progress = [&](std::uint64_t done, std::uint64_t total) {
      if (d.progress_on_terminal)
        err << "\rexported " << done << " / " << total << " events" << std::flush;
    };
    const auto r = export_audit_log(d.events(), d.audit(), s.since, d.clock, *target, progress);
    target->flush();
    if (d.progress_on_terminal) err << '\n';
    err << "exported " << r.events << " events and " << r.checkpoints << " checkpoints"
        << (s.out_path == "-" ? "" : " to " + s.out_path) << '\n';
    return *target ? cli_exit_ok : cli_exit_error;
  }
  // verify
  const auto verifier = checkpoint_verifier::parse(key_text(s.key));
  if (!verifier) {
    err << "keyledger: --public-key is not a verifier key (<name>+<key id>+<base64 key>)\n";
    return cli_exit_usage;
  }
  audit_verify_options options;
  if (!s.older.empty()) {
    options.older_checkpoint = read_file(s.older);
    if (!options.older_checkpoint) {
      err << "keyledger: cannot read " << s.older << '\n';
      return cli_exit_usage;
    }
  }
  std::ifstream in(s.file, std::ios::binary);
  if (!in) {
    err << "keyledger: cannot read " << s.file << '\n';
    return cli_exit_usage;
  }
  const infra::rfc6962_hasher hasher;
  const auto v = verify_audit_file(in, *verifier, hasher, options);
  out << (v.ok ? "" : "FAILED: ") << v.message << '\n';
  return v.ok ? cli_exit_ok : cli_exit_error;
}

}  // namespace keyledger::services

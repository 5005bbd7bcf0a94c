// `keyledger audit replay`: an export file, folded up to an instant, printed like `keys list`.
#include "services/cli/audit_replay_cli.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "infra/json/export_codec.hpp"
#include "infra/json/json.hpp"
#include "services/app/key_json.hpp"
#include "services/app/key_replay.hpp"
#include "services/cli/audit_cli.hpp"
#include "services/cli/cli_support.hpp"
#include "services/cli/keys_cli.hpp"

namespace keyledger::services {
namespace {

// What an export holds once read up to the instant.
struct replayed {
  std::unique_ptr<active_key_view> view = std::make_unique<active_key_view>();
  std::size_t events = 0;  // event lines read
  std::int64_t last_recorded_us = 0;
  std::vector<std::string> incomplete;
};

// Every key of one workspace in `view`, newest first (the API's list order), in full pages.
std::vector<std::shared_ptr<const key_entry>> all_keys(const active_key_view& view,
                                                       const std::string& workspace_id) {
  std::vector<std::shared_ptr<const key_entry>> out;
  key_query q;
  q.workspace_id = workspace_id;
  q.limit = 100;
  for (;;) {
    auto page = view.list(q);
    out.insert(out.end(), page.items.begin(), page.items.end());
    if (!page.next) break;
    q.after = page.next;
  }
  return out;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Lines of kinds this reader does not know are skipped if they are JSON objects at all. The
// limits only keep a damaged line from costing without bound.
bool is_json_object(std::string_view line) {
  constexpr infra::json_limits any_line{.max_depth = 32,
                                        .max_string = 16 * 1024 * 1024,
                                        .max_array = 1 << 20,
                                        .max_members = 4096,
                                        .max_bytes = 64 * 1024 * 1024};
  return infra::json_body::parse(line, any_line).ok();
}

std::string key_json(const key_entry& k, domain::timestamp as_of) {
  infra::json_writer w;
  w.begin_object();
  // Last use is telemetry, never in the log: null, as the API answers for the past.
  write_key_fields(w, k.state(), {k.effective_scopes(), k.owner_removed()}, as_of, nullptr);
  w.end_object();
  return w.take();
}

const std::vector<std::string>& replay_header() {
  static const std::vector<std::string> header = {
      "ID", "NAME", "ENV", "STATUS", "START", "CREATED", "EXPIRES", "OWNER", "EFFECTIVE SCOPES"};
  return header;
}

// keys list's row (its LAST USED column has nothing to say about the past), plus the owner and
// what the key could do then.
std::vector<std::string> replay_row(const infra::json_body& key) {
  auto row = cli::key_row(key);
  row.pop_back();
  row.push_back(cli::printable(cli::string_of(key, "owner_user_id").value_or("-")));
  const auto scopes = cli::strings_of(key, "effective_scopes");
  row.push_back(scopes.empty() ? "-" : cli::printable(cli::join(scopes, " ")));
  return row;
}

}  // namespace

struct audit_replay_command::state {
  CLI::App* replay = nullptr;
  std::string as_of_text;
  std::string workspace;
  std::string file;
  bool json = false;

  // Reads `file` up to `as_of`; nullopt after printing why it could not.
  std::optional<replayed> read(domain::timestamp as_of, std::ostream& err) const;
};

audit_replay_command::audit_replay_command(CLI::App& app) : state_(std::make_unique<state>()) {
  auto& s = *state_;
  s.replay = audit_group(app).add_subcommand(
      "replay",
      "Print every key as it was at an instant, folded from an export file (NDJSON) with no "
      "database or server: a table, or the API's JSON with --json");
  s.replay->add_option("--as-of", s.as_of_text, "The instant, RFC 3339 UTC (2026-11-23T19:36:02Z)")
      ->required();
  s.replay->add_option("--workspace", s.workspace, "Only this workspace (its id or its name)");
  s.replay->add_flag("--json", s.json,
                     "Print {\"data\":[key objects],\"next_cursor\":null} as GET /v1/keys?as_of= "
                     "answers");
  s.replay->add_option("file", s.file, "The export (NDJSON, one event per line)")->required();
  s.replay->footer(
      "Lines other than events (a header, checkpoints) are skipped. Exit status: 0 done, 1 the "
      "file is unreadable or damaged (a malformed line, events out of order, a stream with a "
      "missing event: named on stderr), 2 usage.");
}

audit_replay_command::~audit_replay_command() = default;

bool audit_replay_command::chosen() const { return state_->replay->parsed(); }

std::optional<replayed> audit_replay_command::state::read(domain::timestamp as_of,
                                                          std::ostream& err) const {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err << "keyledger: cannot open " << cli::printable(file) << "\n";
    return std::nullopt;
  }
  replayed out;
  instant_filter filter(as_of);
  std::uint64_t last_seq = 0;
  std::size_t line_number = 0;
  const auto where = [&] { return cli::printable(file) + ":" + std::to_string(line_number); };
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto kind = infra::kind_of_export_line(line);
    if (kind == infra::export_line_kind::header) {
      // A view is folded from each key's first event: a part of the log cannot give one.
      const auto header = infra::parse_export_header(line);
      if (header && header->since > 0) {
        err << "keyledger: " << where() << ": the export starts after event " << header->since
            << "; a replay needs the whole log (keyledger audit export without --since)\n";
        return std::nullopt;
      }
      continue;
    }
    if (kind != infra::export_line_kind::event) {
      // The header, checkpoints, blank lines and any other JSON object are not events; a line
      // that is not even JSON is damage.
      if (kind == infra::export_line_kind::other && !is_blank(line) && !is_json_object(line)) {
        err << "keyledger: " << where() << ": not one JSON object\n";
        return std::nullopt;
      }
      continue;
    }
    const auto parsed = infra::parse_export_event_line(line);
    if (!parsed) {
      err << "keyledger: " << where()
          << ": not an event line of the export format (docs/audit.md, \"Export format\")\n";
      return std::nullopt;
    }
    const auto& e = *parsed;
    // Folding needs the log's order; a file in another order was not written by an export.
    if (e.global_seq <= last_seq) {
      err << "keyledger: " << where() << ": event " << e.global_seq << " comes after event "
          << last_seq << " (an export is in global order)\n";
      return std::nullopt;
    }
    last_seq = e.global_seq;
    ++out.events;
    out.last_recorded_us = std::max(out.last_recorded_us, e.recorded_at_us);
    if (filter.admit(e) == instant_filter::verdict::admitted) out.view->apply(e);
  }
  if (in.bad()) {
    err << "keyledger: reading " << cli::printable(file) << " failed\n";
    return std::nullopt;
  }
  out.incomplete = filter.incomplete_streams();
  return out;
}

int audit_replay_command::run(const domain::clock& clock, std::ostream& out, std::ostream& err) {
  const auto& s = *state_;
  const auto as_of = domain::parse_timestamp(s.as_of_text);
  if (!as_of) {
    err << "keyledger: --as-of must be an RFC 3339 UTC time such as 2026-11-23T19:36:02Z\n";
    return cli_exit_usage;
  }
  if (*as_of > clock.now()) {
    err << "keyledger: --as-of is in the future; the log knows nothing after now\n";
    return cli_exit_usage;
  }
  auto replay = s.read(*as_of, err);
  if (!replay) return cli_exit_error;

  std::vector<workspace_entry> shown;
  for (auto& w : replay->view->workspaces()) {
    if (s.workspace.empty() || s.workspace == w.workspace_id || s.workspace == w.name) {
      shown.push_back(std::move(w));
    }
  }
  if (!s.workspace.empty() && shown.empty()) {
    err << "keyledger: no workspace " << cli::printable(s.workspace) << " in "
        << cli::printable(s.file) << " at " << domain::format_timestamp(*as_of) << "\n";
  }

  if (s.json) {
    out << "{\"data\":[";
    bool first = true;
    for (const auto& w : shown) {
      for (const auto& k : all_keys(*replay->view, w.workspace_id)) {
        out << (first ? "" : ",") << key_json(*k, *as_of);
        first = false;
      }
    }
    out << "],\"next_cursor\":null}\n";
  } else {
    out << "As of " << domain::format_timestamp(*as_of) << ", from " << replay->events
        << " events of " << cli::printable(s.file) << ":\n";
    for (const auto& w : shown) {
      const auto keys = all_keys(*replay->view, w.workspace_id);
      out << "\n"
          << cli::printable(w.name) << " (" << w.workspace_id << "): " << keys.size()
          << (keys.size() == 1 ? " key" : " keys") << "\n";
      if (keys.empty()) continue;
      std::vector<std::vector<std::string>> table{replay_header()};
      for (const auto& k : keys) {
        // Through the API's JSON, so the table shows exactly what --json (and the API) says.
        if (auto parsed = cli::parse_json(key_json(*k, *as_of))) {
          table.push_back(replay_row(*parsed));
        }
      }
      cli::print_table(out, table);
    }
  }
  if (replay->events > 0 && domain::to_micros(*as_of) > replay->last_recorded_us) {
    err << "keyledger: note: the file's last event was recorded at "
        << domain::format_timestamp(
               domain::timestamp(std::chrono::microseconds(replay->last_recorded_us)))
        << "; what happened later is not in it\n";
  }
  if (!replay->incomplete.empty()) {
    err << "keyledger: " << replay->incomplete.size()
        << " stream(s) lack an event in the file (the first: "
        << cli::printable(replay->incomplete.front())
        << "); each is shown only as far as it goes before the gap\n";
    return cli_exit_error;
  }
  return cli_exit_ok;
}

}  // namespace keyledger::services

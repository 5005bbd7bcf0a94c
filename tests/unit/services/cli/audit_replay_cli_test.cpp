// `keyledger audit replay` over an export file built in the test from a log the HTTP API wrote:
// its --json is GET /v1/keys?as_of= byte for byte at every instant, the table says the same,
// lines of other kinds are skipped, and a damaged file is named and refused.
#include "services/cli/audit_replay_cli.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "infra/json/export_codec.hpp"
#include "services/cli/keys_cli.hpp"
#include "tests/unit/services/http/routes_fixture.hpp"

namespace keyledger::services::routes_testing {
namespace {

struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

std::string without_last_use(const std::string& body) {
  static const std::regex last_use(
      R"re("last_used_at":("[^"]*"|null),"last_used_ip":("[^"]*"|null))re");
  return std::regex_replace(body, last_use, R"("last_used_at":null,"last_used_ip":null)");
}

class audit_replay_test : public routes_test {
 protected:
  ~audit_replay_test() override {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  /// Writes `lines` to the test's export file; returns its path.
  std::string write(const std::vector<std::string>& lines) {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    for (const auto& l : lines) f << l << '\n';
    return path_.string();
  }

  /// The store as an export: a header, every event, a checkpoint in the middle.
  std::vector<std::string> export_lines() {
    std::vector<std::string> lines{infra::format_export_header({})};
    const auto events = store_.events();
    for (std::size_t i = 0; i < events.size(); ++i) {
      lines.push_back(infra::format_export_event_line(events[i]));
      if (i == events.size() / 2) {
        lines.push_back(R"({"checkpoint":{"size":)" + std::to_string(i + 1) + "}}");
      }
    }
    return lines;
  }

  outcome run(std::vector<std::string> args) {
    CLI::App app;
    audit_replay_command command(app);
    std::vector<std::string> argv = {"keyledger", "audit", "replay"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<const char*> c_argv;
    for (const auto& a : argv) c_argv.push_back(a.c_str());
    outcome o;
    try {
      app.parse(static_cast<int>(c_argv.size()), c_argv.data());
    } catch (const CLI::ParseError&) {
      o.status = cli_exit_usage;
      return o;
    }
    EXPECT_TRUE(command.chosen());
    std::ostringstream out;
    std::ostringstream err;
    o.status = command.run(clock_, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  std::filesystem::path path_ = std::filesystem::temp_directory_path() /
                                ("keyledger_replay_" + domain::new_id("t", random_) + ".ndjson");
};

TEST_F(audit_replay_test, its_json_is_the_apis_answer_at_every_instant) {
  std::vector<domain::timestamp> instants{clock_.now()};
  clock_.advance(1s);
  auto a = create(R"({"name":"alpha","environment":"live","scopes":["leads:read"]})");
  instants.push_back(clock_.now());
  clock_.advance(1s);
  ASSERT_EQ(
      call("PATCH", "/v1/keys/" + a.id, R"({"enabled":false,"name":"alpha 2"})", json_with(admin_))
          .status,
      200u);
  instants.push_back(clock_.now());
  clock_.advance(1s);
  auto member = join(role::member, "m@acme.example");
  auto m = create_as(member, R"({"name":"theirs","environment":"test","scopes":["keys:write"]})");
  instants.push_back(clock_.now());
  clock_.advance(1s);
  ASSERT_EQ(call("POST", "/v1/keys/" + a.id + "/rotate", R"({"grace_period_seconds":0})",
                 json_with(admin_))
                .status,
            201u);
  instants.push_back(clock_.now());
  clock_.advance(1s);
  ASSERT_EQ(call("DELETE", "/v1/users/" + member.id, "", json_with(admin_)).status, 204u);
  ASSERT_EQ(call("DELETE", "/v1/keys/" + m.id, "", json_with(admin_)).status, 204u);
  instants.push_back(clock_.now());
  clock_.advance(1s);
  instants.push_back(clock_.now());
  const auto file = write(export_lines());

  for (const auto t : instants) {
    const auto as_of = domain::format_timestamp(t);
    auto o = run({"--as-of", as_of, "--workspace", workspace_id_, "--json", file});
    EXPECT_EQ(o.status, 0) << o.err;
    auto api = call("GET", "/v1/keys?limit=100&as_of=" + as_of, "", json_with(admin_));
    ASSERT_EQ(api.status, 200u);
    EXPECT_EQ(o.out, api.body + "\n") << "as of " << as_of;
  }
  // At now it is the live list, but for last use (telemetry, never in the log).
  auto now = run(
      {"--as-of", domain::format_timestamp(clock_.now()), "--workspace", "acme", "--json", file});
  EXPECT_EQ(now.out,
            without_last_use(call("GET", "/v1/keys?limit=100", "", json_with(admin_)).body) + "\n");
}

TEST_F(audit_replay_test, the_table_shows_every_workspace_as_it_was) {
  clock_.advance(1s);
  auto a = create(R"({"name":"alpha","environment":"live","scopes":["leads:read"]})");
  const auto created = clock_.now();
  clock_.advance(1s);
  ASSERT_EQ(call("DELETE", "/v1/keys/" + a.id, "", json_with(admin_)).status, 204u);
  auto other = bootstrap("other", "ot");
  const auto file = write(export_lines());

  auto then = run({"--as-of", domain::format_timestamp(created), file});
  EXPECT_EQ(then.status, 0) << then.err;
  EXPECT_NE(then.out.find("acme (" + workspace_id_ + "): 2 keys"), std::string::npos) << then.out;
  EXPECT_EQ(then.out.find("other ("), std::string::npos) << "not yet created";
  EXPECT_NE(then.out.find("ID  "), std::string::npos);
  EXPECT_NE(then.out.find("EFFECTIVE SCOPES"), std::string::npos);
  std::string alpha_row;
  std::istringstream lines(then.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(a.id)) alpha_row = line;
  }
  EXPECT_NE(alpha_row.find("alpha"), std::string::npos) << then.out;
  EXPECT_NE(alpha_row.find("active"), std::string::npos) << alpha_row;
  EXPECT_NE(alpha_row.find(owner_id_), std::string::npos) << alpha_row;
  EXPECT_NE(alpha_row.find("leads:read"), std::string::npos) << alpha_row;

  auto now = run({"--as-of", domain::format_timestamp(clock_.now()), file});
  EXPECT_NE(now.out.find("other (" + other.workspace_id + "): 1 key"), std::string::npos)
      << now.out;
  for (std::istringstream l(now.out); std::getline(l, alpha_row);) {
    if (alpha_row.starts_with(a.id)) break;
  }
  EXPECT_NE(alpha_row.find("revoked"), std::string::npos) << alpha_row;
  // One workspace, by name.
  auto only =
      run({"--as-of", domain::format_timestamp(clock_.now()), "--workspace", "other", file});
  EXPECT_EQ(only.out.find("acme ("), std::string::npos);
  EXPECT_NE(only.out.find("other ("), std::string::npos);
  // One that is not in the file: nothing, said on stderr.
  auto none = run({"--as-of", domain::format_timestamp(clock_.now()), "--workspace", "nowhere",
                   "--json", file});
  EXPECT_EQ(none.status, 0);
  EXPECT_EQ(none.out, "{\"data\":[],\"next_cursor\":null}\n");
  EXPECT_NE(none.err.find("no workspace nowhere"), std::string::npos) << none.err;
}

TEST_F(audit_replay_test, a_damaged_file_is_named_and_refused) {
  create(R"({"name":"alpha","environment":"live"})");
  const auto as_of = domain::format_timestamp(clock_.now());
  auto lines = export_lines();
  ASSERT_GE(lines.size(), 6u);

  auto malformed = lines;
  malformed[3] = malformed[3].substr(0, malformed[3].size() / 2);
  auto o = run({"--as-of", as_of, write(malformed)});
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find(path_.string() + ":4: not an event line of the export format"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(o.out, "");
  auto garbage = lines;
  garbage.insert(garbage.begin() + 2, "this is no JSON");
  o = run({"--as-of", as_of, write(garbage)});
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find(":3: not one JSON object"), std::string::npos) << o.err;
  // A kind of line this reader does not know, but JSON: skipped.
  auto unknown = lines;
  unknown.insert(unknown.begin() + 2, R"({"annotation":{"by":"an auditor"}})");
  EXPECT_EQ(run({"--as-of", as_of, write(unknown)}).status, 0);

  auto swapped = lines;
  std::swap(swapped[1], swapped[2]);
  o = run({"--as-of", as_of, write(swapped)});
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find(":3: event 1 comes after event 2"), std::string::npos) << o.err;

  // A key stream's first event left out: alone, the key is just absent; once the stream has a
  // later event, that event has no predecessor and the stream is named as incomplete.
  const auto events = store_.events();
  std::vector<std::string> gap{lines.front()};
  std::string dropped;
  for (const auto& e : events) {
    if (dropped.empty() && e.stream_id.starts_with("api_key-") && e.version == 1 &&
        e.global_seq != events.size()) {
      dropped = e.stream_id;
      continue;
    }
    gap.push_back(infra::format_export_event_line(e));
  }
  ASSERT_FALSE(dropped.empty());
  o = run({"--as-of", as_of, write(gap)});
  EXPECT_EQ(o.status, 0) << "a key whose KeyCreated is missing and nothing else is just absent";
  const auto key_id = dropped.substr(std::string("api_key-").size());
  ASSERT_EQ(call("PATCH", "/v1/keys/" + key_id, R"({"name":"renamed"})", json_with(admin_)).status,
            200u);
  gap.push_back(infra::format_export_event_line(store_.events().back()));
  o = run({"--as-of", domain::format_timestamp(clock_.now()), write(gap)});
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find("1 stream(s) lack an event"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(dropped), std::string::npos) << o.err;
  EXPECT_NE(o.out.find("acme ("), std::string::npos) << "the view is printed all the same";

  // An export of a part of the log (--since) is refused from its header on.
  infra::export_header part;
  part.since = 3;
  part.exported_at = as_of;
  auto since = lines;
  since.front() = infra::format_export_header(part);
  o = run({"--as-of", as_of, write(since)});
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find(":1: the export starts after event 3"), std::string::npos) << o.err;

  o = run({"--as-of", as_of, (std::filesystem::temp_directory_path() / "no-such-export").string()});
  EXPECT_EQ(o.status, cli_exit_error);
  EXPECT_NE(o.err.find("cannot open"), std::string::npos);
}

TEST_F(audit_replay_test, a_bad_or_future_instant_is_a_usage_error) {
  const auto file = write(export_lines());
  auto bad = run({"--as-of", "yesterday", file});
  EXPECT_EQ(bad.status, cli_exit_usage);
  EXPECT_NE(bad.err.find("RFC 3339"), std::string::npos);
  auto future = run({"--as-of", domain::format_timestamp(clock_.now() + 1s), file});
  EXPECT_EQ(future.status, cli_exit_usage);
  EXPECT_NE(future.err.find("future"), std::string::npos);
  EXPECT_EQ(run({file}).status, cli_exit_usage) << "--as-of is required";
  EXPECT_EQ(run({"--as-of", domain::format_timestamp(clock_.now())}).status, cli_exit_usage);
  // After the file's last event: the view as of then, and a note that later events are not in it.
  clock_.advance(1h);
  auto later = run({"--as-of", domain::format_timestamp(clock_.now()), file});
  EXPECT_EQ(later.status, 0);
  EXPECT_NE(later.err.find("what happened later is not in it"), std::string::npos) << later.err;
}

}  // namespace
}  // namespace keyledger::services::routes_testing

// `keyledger scan`: walk the paths, read each text file line by line, report every well-formed
// key by file, line and visible start.
#include "services/cli/scan_cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <system_error>

#include "domain/keys/key_format.hpp"
#include "domain/keys/key_scan.hpp"

namespace keyledger::services {
namespace {

namespace fs = std::filesystem;

// git's heuristic: a NUL byte in the first 8000 bytes makes a file binary.
constexpr std::size_t binary_probe = 8000;

constexpr int exit_nothing_found = 0;
constexpr int exit_found = 1;
constexpr int exit_error = 2;

void scan_file(const std::string& name, scan_result& out) {
  std::ifstream in(name, std::ios::binary);
  if (!in) {
    out.errors.push_back(name + ": cannot be read");
    return;
  }
  std::string probe(binary_probe, '\0');
  in.read(probe.data(), static_cast<std::streamsize>(probe.size()));
  probe.resize(static_cast<std::size_t>(in.gcount()));
  if (probe.find('\0') != std::string::npos) return;
  in.clear();
  in.seekg(0);
  ++out.files_scanned;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    for (const auto& found : domain::find_keys(line)) {
      const auto key = domain::parse_key(std::string_view(line).substr(found.offset, found.length));
      // find_keys only reports what parse_key accepts.
      if (key) out.findings.push_back({name, number, domain::visible_start(key.value())});
    }
  }
  if (in.bad()) out.errors.push_back(name + ": read error");
}

void scan_directory(const fs::path& dir, scan_result& out) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) {
    out.errors.push_back(dir.string() + ": " + ec.message());
    return;
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const auto& e : entries) {
    // Links are not followed inside a walk (loops, and trees outside the one asked for).
    if (e.is_symlink(ec)) continue;
    if (e.is_directory(ec)) {
      if (e.path().filename() == ".git") continue;
      scan_directory(e.path(), out);
    } else if (e.is_regular_file(ec)) {
      scan_file(e.path().string(), out);
    }
  }
}

}  // namespace

scan_result scan_paths(const std::vector<std::string>& paths) {
  scan_result out;
  for (const auto& p : paths) {
    std::error_code ec;
    const auto status = fs::status(p, ec);
    if (ec || !fs::exists(status)) {
      out.errors.push_back(p + ": no such file or directory");
    } else if (fs::is_directory(status)) {
      scan_directory(p, out);
    } else if (fs::is_regular_file(status)) {
      scan_file(p, out);
    } else {
      out.errors.push_back(p + ": not a file or directory");
    }
  }
  return out;
}

struct scan_command::state {
  CLI::App* command = nullptr;
  std::vector<std::string> paths;
};

scan_command::scan_command(CLI::App& app) : state_(std::make_unique<state>()) {
  state_->command = app.add_subcommand(
      "scan",
      "Find keyledger keys in files, offline, by their checksum (a pre-commit hook or a CI job); "
      "prints file:line and the key's visible start, never the key. Exit 0 nothing found, 1 a "
      "key found, 2 usage or a path that could not be read.");
  state_->command
      ->add_option("paths", state_->paths,
                   "Files and directories (walked recursively; .git, binary files and symbolic "
                   "links inside are skipped)")
      ->required();
}

scan_command::~scan_command() = default;

bool scan_command::chosen() const { return state_->command->parsed(); }

int scan_command::run(std::ostream& out, std::ostream& err) const {
  const auto result = scan_paths(state_->paths);
  for (const auto& f : result.findings) {
    out << f.file << ':' << f.line << ": " << f.start << "...\n";
  }
  for (const auto& e : result.errors) err << "keyledger scan: " << e << '\n';
  if (!result.findings.empty()) {
    err << "keyledger scan: " << result.findings.size() << " key(s) found in "
        << result.files_scanned << " file(s) scanned; revoke them and remove them from history\n";
  }
  out.flush();
  if (!result.errors.empty()) return exit_error;
  return result.findings.empty() ? exit_nothing_found : exit_found;
}

}  // namespace keyledger::services

#pragma once

// `keyledger scan PATH...`: finds keyledger keys in files, offline, by their checksum - what a
// pre-commit hook or a CI job runs (docs/leaks.md). Prints where each key is and its visible
// start only, never the key.

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace keyledger::services {

/// One key found: the file as named by the walk, its 1-based line, and the key's visible start
/// (domain::visible_start, e.g. "kl_live_2x8Q").
struct scan_finding {
  std::string file;
  std::size_t line = 0;
  std::string start;
};

struct scan_result {
  std::vector<scan_finding> findings;  ///< in walk order: paths as given, directories sorted
  std::vector<std::string> errors;     ///< "<path>: <what>" for paths that could not be read
  std::size_t files_scanned = 0;       ///< text files read (binary files are skipped)
};

/// Scans each path: a file is read; a directory is walked recursively in name order, skipping
/// directories named .git and not following symbolic links (a link named directly is followed).
/// A file with a NUL byte in its first 8000 bytes is binary and skipped (git's rule). Keys are
/// found line by line (domain::find_keys). Never throws for I/O: it is reported in `errors`.
scan_result scan_paths(const std::vector<std::string>& paths);

/// Adds `scan PATH...` to `app`. Prints `<file>:<line>: <visible start>...` per key on stdout,
/// errors on stderr. Exit status: 0 nothing found, 1 a key found, 2 usage or a path that could
/// not be read (then what was found is still printed).
class scan_command {
 public:
  explicit scan_command(CLI::App& app);
  ~scan_command();
  scan_command(const scan_command&) = delete;
  scan_command& operator=(const scan_command&) = delete;

  bool chosen() const;
  int run(std::ostream& out, std::ostream& err) const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace keyledger::services

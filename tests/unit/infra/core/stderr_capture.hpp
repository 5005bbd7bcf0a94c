#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "infra/core/log.hpp"

namespace keyledger::infra::testing {

/// Redirects file descriptor 2 into an unlinked temporary file for its lifetime, so tests can
/// read exactly what was written with write(2) (the logger's batched lines included). Restores
/// stderr on destruction.
class stderr_capture {
 public:
  stderr_capture() {
    flush_log();
    std::fflush(stderr);
    char path[] = "/tmp/keyledger_stderr_XXXXXX";
    file_ = ::mkstemp(path);
    if (file_ < 0) throw std::runtime_error("mkstemp failed");
    ::unlink(path);
    saved_ = ::dup(STDERR_FILENO);
    if (saved_ < 0 || ::dup2(file_, STDERR_FILENO) < 0) throw std::runtime_error("dup failed");
  }
  ~stderr_capture() {
    restore();
    ::close(file_);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;

  /// Everything written to fd 2 since construction.
  std::string text() const {
    flush_log();
    return written();
  }

  /// What is on fd 2 now, without asking the logger to write what it holds.
  std::string written() const {
    std::string out;
    char buffer[4096];
    off_t offset = 0;
    for (;;) {
      const ssize_t n = ::pread(file_, buffer, sizeof buffer, offset);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
      offset += n;
    }
    return out;
  }

  /// Puts the real stderr back (idempotent).
  void restore() {
    if (saved_ >= 0) {
      flush_log();  // lines logged so far belong to the capture
      std::fflush(stderr);
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
    }
  }

 private:
  int file_ = -1;
  int saved_ = -1;
};

}  // namespace keyledger::infra::testing

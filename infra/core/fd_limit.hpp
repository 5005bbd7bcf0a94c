#pragma once

#include <cstddef>
#include <cstdint>

namespace keyledger::infra {

/// Descriptors an HTTP server process keeps free of client connections: its database
/// connections (27 at most with the defaults, docs/operations.md), the log, epoll, pipes,
/// the secret and schema files, outbound postback sockets, with room to spare.
inline constexpr std::uint64_t reserved_descriptors = 256;

/// Raises the soft RLIMIT_NOFILE to the hard limit, at most to `cap`, and returns the soft
/// limit in force afterwards (the unchanged one when it cannot be raised; 0 when it cannot be
/// read). Never lowers it. Call once at start-up. Thread-safe (setrlimit is per process).
std::uint64_t raise_open_file_limit(std::uint64_t cap = std::uint64_t{1} << 20);

/// How many HTTP connections a process allowed `open_file_limit` descriptors may accept:
/// `wanted`, or fewer so that reserved_descriptors stay free (half of the limit when it is
/// that small), at least 1. A connection beyond it is accepted and closed at once, which
/// keeps the accept loop clear of EMFILE. A limit of 0 (unknown) leaves `wanted`. Pure.
std::size_t connection_limit(std::uint64_t open_file_limit, std::size_t wanted) noexcept;

}  // namespace keyledger::infra

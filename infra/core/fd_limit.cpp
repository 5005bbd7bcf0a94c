#include "infra/core/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace keyledger::infra {

std::uint64_t raise_open_file_limit(std::uint64_t cap) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  const std::uint64_t hard = limit.rlim_max == RLIM_INFINITY ? cap : limit.rlim_max;
  const std::uint64_t wanted = std::min(hard, cap);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = static_cast<rlim_t>(wanted);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? cap : static_cast<std::uint64_t>(limit.rlim_cur);
}

std::size_t connection_limit(std::uint64_t open_file_limit, std::size_t wanted) noexcept {
  if (open_file_limit == 0) return std::max<std::size_t>(1, wanted);
  const std::uint64_t room = open_file_limit > 2 * reserved_descriptors
                                 ? open_file_limit - reserved_descriptors
                                 : open_file_limit / 2;
  return static_cast<std::size_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(room, wanted)));
}

}  // namespace keyledger::infra

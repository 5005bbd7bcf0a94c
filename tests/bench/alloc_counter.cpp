// A counting allocator for the benchmarks, loaded with LD_PRELOAD: every malloc, calloc,
// realloc, aligned_alloc, posix_memalign, memalign, valloc and pvalloc of the process is
// counted (operator new goes through malloc), then handed to glibc's own allocator. The count
// lives in a shared file named by BENCH_ALLOC_COUNTER_FILE (8 bytes, little-endian), so a
// script reads it before and after a load run (`od -An -tu8 FILE`) and divides by the requests
// answered: allocations per request, without touching the server's code or timing much (one
// relaxed atomic add per allocation). Without the variable, counting still happens, unread.
//
// Used by tests/bench/verify_bench.sh; see docs/performance.md ("Allocations per request").
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
}

namespace {

std::atomic<std::uint64_t> local_count{0};
std::atomic<std::atomic<std::uint64_t>*> counter{&local_count};

inline void count() {
  counter.load(std::memory_order_relaxed)->fetch_add(1, std::memory_order_relaxed);
}

// Maps the shared counter once the process starts (before main; allocations before this are
// counted locally and carried over).
__attribute__((constructor)) void map_counter() {
  const char* path = std::getenv("BENCH_ALLOC_COUNTER_FILE");
  if (path == nullptr || *path == '\0') return;
  const int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::ftruncate(fd, sizeof(std::uint64_t)) != 0) {
    ::close(fd);
    return;
  }
  void* p = ::mmap(nullptr, sizeof(std::uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return;
  auto* shared = static_cast<std::atomic<std::uint64_t>*>(p);
  shared->store(local_count.load(), std::memory_order_relaxed);
  counter.store(shared, std::memory_order_release);
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) {
  count();
  return __libc_malloc(size);
}

void* calloc(std::size_t n, std::size_t size) {
  count();
  return __libc_calloc(n, size);
}

void* realloc(void* p, std::size_t size) {
  count();
  return __libc_realloc(p, size);
}

void* memalign(std::size_t alignment, std::size_t size) {
  count();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
  count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr && size != 0) return 12;  // ENOMEM
  *out = p;
  return 0;
}

void* valloc(std::size_t size) {
  count();
  return __libc_valloc(size);
}

void* pvalloc(std::size_t size) {
  count();
  return __libc_pvalloc(size);
}

}  // extern "C"

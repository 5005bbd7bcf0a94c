// new_call(): calls, and the shared pointers' blocks that own them, reused per thread.
#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include "services/http/router/call.hpp"

namespace keyledger::services::http {
namespace {

constexpr std::size_t kept_per_thread = 64;

/// Set when this thread's kept calls and blocks are destroyed (thread exit); plain bools, valid
/// for the thread's whole life, so that anything released after that is freed as usual.
thread_local bool calls_torn_down = false;
thread_local bool blocks_torn_down = false;

struct kept_calls {
  std::array<call*, kept_per_thread> slots{};
  std::size_t count = 0;
  ~kept_calls() {
    calls_torn_down = true;
    for (std::size_t i = 0; i < count; ++i) delete slots[i];
  }
};
thread_local kept_calls calls;

/// Storage for shared_ptr control blocks of one size, kept per thread.
struct kept_blocks {
  std::array<void*, kept_per_thread> slots{};
  std::size_t count = 0;
  std::size_t size = 0;  ///< the one block size kept (the control block of new_call's pointer)
  ~kept_blocks() {
    blocks_torn_down = true;
    for (std::size_t i = 0; i < count; ++i) ::operator delete(slots[i]);
  }
};
thread_local kept_blocks blocks;

/// The allocator of new_call's control block: one block size, reused per thread.
template <class T>
struct block_allocator {
  using value_type = T;
  block_allocator() = default;
  template <class U>
  block_allocator(const block_allocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    if (n == 1 && !blocks_torn_down && blocks.count > 0 && blocks.size == sizeof(T)) {
      return static_cast<T*>(blocks.slots[--blocks.count]);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1 && !blocks_torn_down && blocks.count < blocks.slots.size() &&
        (blocks.size == 0 || blocks.size == sizeof(T))) {
      blocks.size = sizeof(T);
      blocks.slots[blocks.count++] = p;
      return;
    }
    ::operator delete(p);
  }
  friend bool operator==(const block_allocator&, const block_allocator&) noexcept { return true; }
};

/// Resets a finished call to a default one and keeps it; its request is emptied, its storage
/// kept (the router swaps it with the server's next request).
struct call_recycler {
  void operator()(call* c) const noexcept {
    if (calls_torn_down || calls.count == calls.slots.size()) {
      delete c;
      return;
    }
    infra::http_request kept = std::move(c->req);
    kept.clear_keeping_storage();
    // Every other member destroyed and made anew, not assigned a default: a string assigned an
    // empty one keeps its buffer and the bytes in it (a path id may be a key). Whatever is
    // added to call later is covered too.
    c->~call();  // NOLINT: made anew in place
    ::new (static_cast<void*>(c)) call{};
    c->req = std::move(kept);
    calls.slots[calls.count++] = c;
  }
};

}  // namespace

std::shared_ptr<call> new_call() {
  call* c = (!calls_torn_down && calls.count > 0) ? calls.slots[--calls.count] : new call();
  return std::shared_ptr<call>(c, call_recycler{}, block_allocator<call>{});
}

}  // namespace keyledger::services::http

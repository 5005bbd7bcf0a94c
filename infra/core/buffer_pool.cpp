#include "infra/core/buffer_pool.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "infra/core/wipe.hpp"

namespace keyledger::infra {
namespace {

/// Set when this thread's kept buffers are destroyed (at thread exit); a plain bool, valid for
/// the thread's whole life, so that an answer destroyed after that frees its body as usual.
thread_local bool torn_down = false;

/// This thread's kept buffers.
struct kept_buffers {
  std::array<std::string, buffer_pool::kept> slots;
  std::size_t count = 0;
  ~kept_buffers() { torn_down = true; }
};

thread_local kept_buffers pool;

}  // namespace

std::string buffer_pool::take(std::size_t capacity) {
  std::string out;
  if (!torn_down && pool.count > 0) {
    out = std::move(pool.slots[--pool.count]);
    out.clear();
  }
  out.reserve(capacity);
  return out;
}

void buffer_pool::give_back(std::string&& buffer) noexcept {
  // Small strings live inside the object: nothing to keep.
  if (buffer.capacity() <= 15 || buffer.capacity() > largest_kept) return;
  if (torn_down || pool.count == pool.slots.size()) return;
  // Zeroed before it is kept: an answer may have shown a secret once (a new key).
  wipe_storage(buffer);
  pool.slots[pool.count++] = std::move(buffer);
}

}  // namespace keyledger::infra

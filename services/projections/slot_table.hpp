#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace keyledger::services {

/// An open-addressing hash index of 32-bit positions (into an array the caller owns): the key of
/// each position is whatever the caller's `hash_of` and `matches` say it is, so the table stores
/// 4 bytes a slot and no copy of any key. Linear probing, a power-of-two capacity kept at most
/// half full (tombstones included), tombstones on erase. Not thread-safe: the caller locks.
class slot_table {
 public:
  /// The position whose key `matches` (`hash` being that key's hash), or nullopt.
  template <class Matches>
  std::optional<std::uint32_t> find(std::size_t hash, Matches&& matches) const {
    if (slots_.empty()) return std::nullopt;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots_[i];
      if (s == empty) return std::nullopt;
      if (s != tombstone && matches(s - 1)) return s - 1;
    }
  }

  /// Adds `position` under `hash` unless a position whose key `matches` is there already (then
  /// false). `hash_of(position)` rehashes the positions already stored when the table grows.
  template <class Matches, class HashOf>
  bool insert(std::size_t hash, std::uint32_t position, Matches&& matches, HashOf&& hash_of) {
    return !place(hash, position, matches, hash_of, /*replace=*/false);
  }

  /// Stores `position` under `hash`: in the place of the position whose key `matches` if there
  /// is one (true), else as insert() would (false). erase() then insert() in one probe.
  template <class Matches, class HashOf>
  bool assign(std::size_t hash, std::uint32_t position, Matches&& matches, HashOf&& hash_of) {
    return place(hash, position, matches, hash_of, /*replace=*/true);
  }

  /// Removes the position whose key `matches`; false if there is none. Its slot becomes a
  /// tombstone, so that probes for keys stored after it still find them.
  template <class Matches>
  bool erase(std::size_t hash, Matches&& matches) {
    if (slots_.empty()) return false;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots_[i];
      if (s == empty) return false;
      if (s != tombstone && matches(s - 1)) {
        slots_[i] = tombstone;
        --size_;
        return true;
      }
    }
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }
  /// Slots holding a position or a tombstone (what the load factor counts).
  std::size_t used() const noexcept { return used_; }

 private:
  /// The probe of insert() and assign(): true when a position whose key `matches` was found
  /// (and, with `replace`, overwritten); otherwise `position` takes the first free slot.
  template <class Matches, class HashOf>
  bool place(std::size_t hash, std::uint32_t position, Matches& matches, HashOf& hash_of,
             bool replace) {
    if ((used_ + 1) * 2 > slots_.size()) grow(hash_of);
    const std::size_t mask = slots_.size() - 1;
    std::optional<std::size_t> free_slot;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots_[i];
      if (s == empty) {
        if (!free_slot) {
          free_slot = i;
          ++used_;  // a fresh slot; a reused tombstone was counted already
        }
        break;
      }
      if (s == tombstone) {
        if (!free_slot) free_slot = i;
        continue;
      }
      if (matches(s - 1)) {
        if (replace) slots_[i] = position + 1;
        return true;
      }
    }
    slots_[*free_slot] = position + 1;
    ++size_;
    return false;
  }

  static constexpr std::uint32_t empty = 0;  // slots hold position + 1
  static constexpr std::uint32_t tombstone = 0xffffffffu;

  template <class HashOf>
  void grow(HashOf& hash_of) {
    // Twice the live positions' need: tombstones are dropped, so a table of many erasures
    // may stay the same size.
    std::size_t capacity = 16;
    while (capacity < (size_ + 1) * 4) capacity *= 2;
    std::vector<std::uint32_t> old(capacity, empty);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const std::uint32_t s : old) {
      if (s == empty || s == tombstone) continue;
      std::size_t i = hash_of(s - 1) & mask;
      while (slots_[i] != empty) i = (i + 1) & mask;
      slots_[i] = s;
    }
    used_ = size_;
  }

  std::vector<std::uint32_t> slots_;
  std::size_t size_ = 0;  // positions stored
  std::size_t used_ = 0;  // positions and tombstones
};

}  // namespace keyledger::services

// A set of packet identifiers with one flag each, for the incoming QoS 2 messages awaiting
// PUBREL: O(1) find, insert and erase however many a broker keeps in flight (up to 65,535),
// memory in proportion to that number, nothing allocated per message once grown.
//
// Open addressing with linear probing; a slot holds id | flag << 16, 0 when empty (packet id 0
// is never valid). Ids mostly arrive in sequence, so the id itself is a collision-free hash.
// Erase shifts later entries of the probe run back, so no tombstones accumulate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <vector>

namespace tern::detail {

class packet_id_set {
 public:
  explicit packet_id_set(std::pmr::memory_resource* memory) noexcept : slots_(memory) {}

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // Whether id is present, and its flag through `flag` when it is.
  bool find(std::uint16_t id, bool* flag = nullptr) const noexcept {
    if (size_ == 0) return false;
    for (std::size_t i = home(id);; i = next(i)) {
      const std::uint32_t s = slots_[i];
      if (s == 0) return false;
      if (static_cast<std::uint16_t>(s) == id) {
        if (flag != nullptr) *flag = (s >> 16) != 0;
        return true;
      }
    }
  }

  // Adds id with `flag`, or sets the flag of an id already present.
  void insert(std::uint16_t id, bool flag) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::size_t i = home(id);
    for (; slots_[i] != 0; i = next(i)) {
      if (static_cast<std::uint16_t>(slots_[i]) == id) {
        slots_[i] = encode(id, flag);
        return;
      }
    }
    slots_[i] = encode(id, flag);
    ++size_;
  }

  // Removes id; false when it was not there.
  bool erase(std::uint16_t id) noexcept {
    if (size_ == 0) return false;
    std::size_t i = home(id);
    for (; slots_[i] != 0; i = next(i)) {
      if (static_cast<std::uint16_t>(slots_[i]) != id) continue;
      // Backward-shift deletion: move each later entry of the run into the hole when its
      // home position does not lie (cyclically) between the hole and where it sits.
      std::size_t hole = i;
      for (std::size_t j = next(i); slots_[j] != 0; j = next(j)) {
        const std::size_t h = home(static_cast<std::uint16_t>(slots_[j]));
        const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
        if (stays) continue;
        slots_[hole] = slots_[j];
        hole = j;
      }
      slots_[hole] = 0;
      --size_;
      return true;
    }
    return false;
  }

  void clear() noexcept {
    for (auto& s : slots_) s = 0;
    size_ = 0;
  }

  // Returns the table's storage when no id is held (session::trim_memory).
  void release_if_empty() noexcept {
    if (size_ == 0) std::pmr::vector<std::uint32_t>(slots_.get_allocator()).swap(slots_);
  }

  // Calls f(id, flag) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const std::uint32_t s : slots_)
      if (s != 0) f(static_cast<std::uint16_t>(s), (s >> 16) != 0);
  }

 private:
  static std::uint32_t encode(std::uint16_t id, bool flag) noexcept {
    return id | (flag ? 1u << 16 : 0u);
  }
  std::size_t home(std::uint16_t id) const noexcept { return id & (slots_.size() - 1); }
  std::size_t next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }

  void grow() {
    std::pmr::vector<std::uint32_t> old(slots_.get_allocator());
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
    size_ = 0;
    for (const std::uint32_t s : old)
      if (s != 0) insert(static_cast<std::uint16_t>(s), (s >> 16) != 0);
  }

  std::pmr::vector<std::uint32_t> slots_;
  std::size_t size_ = 0;
};

}  // namespace tern::detail

// Private: a FIFO ring over memory from a pmr resource. It grows (doubling) when full and never
// shrinks on its own (only release() gives the storage back), so a steady flow reuses the same
// storage: no allocation per element, unlike std::deque, which allocates and frees blocks as it
// moves.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <new>
#include <utility>

#include "tern/result.hpp"

namespace tern::detail {

template <class T>
class ring {
 public:
  explicit ring(std::pmr::memory_resource* memory) noexcept : memory_(memory) {}
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    clear();
    if (data_ != nullptr) memory_->deallocate(data_, capacity_ * sizeof(T), alignof(T));
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }

  T& operator[](std::size_t i) noexcept { return data_[(head_ + i) & (capacity_ - 1)]; }
  const T& operator[](std::size_t i) const noexcept {
    return data_[(head_ + i) & (capacity_ - 1)];
  }
  T& front() noexcept { return (*this)[0]; }
  T& back() noexcept { return (*this)[size_ - 1]; }
  const T& front() const noexcept { return (*this)[0]; }
  const T& back() const noexcept { return (*this)[size_ - 1]; }

  void push_back(T v) noexcept {
    if (size_ == capacity_) grow();
    ::new (&data_[(head_ + size_) & (capacity_ - 1)]) T(std::move(v));
    ++size_;
  }
  void push_front(T v) noexcept {
    if (size_ == capacity_) grow();
    head_ = (head_ + capacity_ - 1) & (capacity_ - 1);
    ::new (&data_[head_]) T(std::move(v));
    ++size_;
  }
  void pop_front() noexcept {
    data_[head_].~T();
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
  }
  void pop_back() noexcept {
    back().~T();
    --size_;
  }
  // Removes element i, keeping the order of the rest; moves whichever side is shorter (acks
  // and sends mostly take elements near the front).
  void erase(std::size_t i) noexcept {
    if (i < size_ / 2) {
      for (std::size_t j = i; j > 0; --j) (*this)[j] = std::move((*this)[j - 1]);
      pop_front();
    } else {
      for (std::size_t j = i; j + 1 < size_; ++j) (*this)[j] = std::move((*this)[j + 1]);
      pop_back();
    }
  }
  void clear() noexcept {
    while (size_ != 0) pop_front();
    head_ = 0;
  }
  // Returns the storage of an empty ring (session::trim_memory); the next push takes it again.
  void release() noexcept {
    if (size_ != 0 || data_ == nullptr) return;
    memory_->deallocate(data_, capacity_ * sizeof(T), alignof(T));
    data_ = nullptr;
    capacity_ = head_ = 0;
  }

 private:
  void grow() noexcept {
    const std::size_t capacity = capacity_ == 0 ? 8 : capacity_ * 2;
    T* fresh = static_cast<T*>(memory_->allocate(capacity * sizeof(T), alignof(T)));
    for (std::size_t i = 0; i < size_; ++i) {
      ::new (&fresh[i]) T(std::move((*this)[i]));
      (*this)[i].~T();
    }
    if (data_ != nullptr) memory_->deallocate(data_, capacity_ * sizeof(T), alignof(T));
    data_ = fresh;
    capacity_ = capacity;
    head_ = 0;
  }

  std::pmr::memory_resource* memory_;
  T* data_ = nullptr;
  std::size_t capacity_ = 0;  // a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tern::detail

// A FIFO of bytes for the layers' input and output buffers: append at the back, consume from the
// front. Consuming only moves an offset; the consumed prefix is dropped when appending, once it
// is at least as large as what remains, so every byte is moved at most a constant number of
// times.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "tern/bytes.hpp"

namespace tern::net::detail {

class byte_queue {
 public:
  // Valid until the next append, prepare or clear.
  bytes_view view() const noexcept { return {data_.data() + head_, data_.size() - head_}; }
  std::size_t size() const noexcept { return data_.size() - head_; }
  bool empty() const noexcept { return data_.size() == head_; }

  void append(bytes_view b) {
    if (b.empty()) return;
    compact();
    data_.insert(data_.end(), b.begin(), b.end());
  }
  void append(std::string_view s) { append(as_bytes(s)); }

  // `n` bytes of room at the back for a producer that writes in place (SSL_read, BIO_read);
  // commit() then keeps the first `used` of them.
  std::byte* prepare(std::size_t n) {
    compact();
    prepared_ = n;
    data_.resize(data_.size() + n);
    return data_.data() + data_.size() - n;
  }
  void commit(std::size_t used) noexcept {
    data_.resize(data_.size() - (prepared_ - std::min(used, prepared_)));
    prepared_ = 0;
  }

  void consume(std::size_t n) noexcept {
    head_ += std::min(n, size());
    if (head_ == data_.size()) clear();
  }
  void clear() noexcept {
    data_.clear();
    head_ = 0;
  }

 private:
  void compact() {
    if (head_ != 0 && head_ >= data_.size() - head_) {
      data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  std::vector<std::byte> data_;
  std::size_t head_ = 0;
  std::size_t prepared_ = 0;
};

}  // namespace tern::net::detail

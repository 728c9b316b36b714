// The stream decoder: frames packets out of arbitrary splits of the byte stream.
//
// Fast path: when the input holds a whole packet and nothing is buffered, the body is decoded
// in place (zero copy, no allocation). Slow path: header bytes gather in a 5-byte array until
// decode_frame() accepts them; body bytes then gather in a buffer that grows with what has
// actually arrived beyond a first 64 KiB (doubling, capped at the Remaining Length), so
// announcing a large packet costs little until its bytes come.
#include "tern/decoder.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tern {

decoder::decoder(decoder_options options, std::pmr::memory_resource* memory) noexcept
    : options_(options), memory_(memory) {}

decoder::~decoder() { shrink(); }

decoder::decoder(decoder&& other) noexcept
    : options_(other.options_),
      memory_(other.memory_),
      buffer_(std::exchange(other.buffer_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      header_size_(other.header_size_),
      frame_(other.frame_),
      body_size_(other.body_size_),
      packet_offset_(other.packet_offset_),
      stream_offset_(other.stream_offset_),
      failed_(other.failed_),
      error_(other.error_) {
  std::memcpy(header_, other.header_, sizeof header_);
  other.reset();
}

decoder& decoder::operator=(decoder&& other) noexcept {
  if (this != &other) {
    this->~decoder();
    ::new (this) decoder(std::move(other));
  }
  return *this;
}

void decoder::reset() noexcept {
  header_size_ = 0;
  frame_.reset();
  body_size_ = 0;
  packet_offset_ = 0;
  stream_offset_ = 0;
  failed_ = false;
  error_ = {};
}

void decoder::shrink() noexcept {
  if (buffer_ != nullptr) memory_->deallocate(buffer_, capacity_, 1);
  buffer_ = nullptr;
  capacity_ = 0;
  body_size_ = 0;
  frame_.reset();
  header_size_ = 0;
}

void decoder::begin_next_packet() noexcept {
  header_size_ = 0;
  frame_.reset();
  body_size_ = 0;
}

result<std::optional<packet>, decode_error> decoder::fail(decode_error e) noexcept {
  failed_ = true;
  error_ = e;
  return unexpected{e};
}

bool decoder::reserve_body(std::size_t needed) noexcept {
  if (needed <= capacity_) return true;
  const std::size_t limit = frame_->remaining_length;
  // Up to 64 KiB at once (most packets then need one allocation); past that, grow with what
  // has arrived so an announced length alone cannot make the decoder reserve memory.
  const std::size_t grown = std::max<std::size_t>(capacity_ * 2, 64 * 1024);
  const std::size_t capacity = std::max(needed, std::min(grown, limit));
  auto* fresh = static_cast<std::byte*>(memory_->allocate(capacity, 1));
  if (body_size_ != 0) std::memcpy(fresh, buffer_, body_size_);
  if (buffer_ != nullptr) memory_->deallocate(buffer_, capacity_, 1);
  buffer_ = fresh;
  capacity_ = capacity;
  return true;
}

result<std::optional<packet>, decode_error> decoder::next(bytes_view& in) noexcept {
  if (failed_) return unexpected{error_};

  if (!frame_) {
    if (header_size_ == 0) {
      if (in.empty()) return std::optional<packet>{};
      packet_offset_ = stream_offset_;
      auto f = decode_frame(in, options_);
      if (!f) return fail(f.error());
      if (*f && in.size() >= (*f)->size()) {  // whole packet in the input: decode in place
        const frame whole = **f;
        auto p = decode_body(whole, in.subspan(whole.header_size, whole.remaining_length),
                             options_);
        if (!p) return fail(p.error());
        in = in.subspan(whole.size());
        stream_offset_ += whole.size();
        if (auto* c = std::get_if<connect>(&*p); c && options_.from == sender::client)
          options_.version = c->version;
        return std::optional<packet>{std::move(*p)};
      }
      if (*f) {
        frame_ = **f;
        in = in.subspan(frame_->header_size);
        stream_offset_ += frame_->header_size;
        header_size_ = frame_->header_size;
      }
    }
    // The header itself is split: gather it a byte at a time (it is at most 5 bytes).
    while (!frame_ && !in.empty()) {
      header_[header_size_++] = in.front();
      in = in.subspan(1);
      ++stream_offset_;
      auto f = decode_frame({header_, header_size_}, options_);
      if (!f) return fail(f.error());
      if (*f) frame_ = **f;
    }
    if (!frame_) return std::optional<packet>{};
  }

  const std::size_t missing = frame_->remaining_length - body_size_;
  const std::size_t take = std::min(missing, in.size());
  if (take != 0) {
    reserve_body(body_size_ + take);
    std::memcpy(buffer_ + body_size_, in.data(), take);
    body_size_ += static_cast<std::uint32_t>(take);
    in = in.subspan(take);
    stream_offset_ += take;
  }
  if (body_size_ < frame_->remaining_length) return std::optional<packet>{};

  const frame f = *frame_;
  begin_next_packet();
  auto p = decode_body(f, {buffer_, f.remaining_length}, options_);
  if (!p) return fail(p.error());
  if (auto* c = std::get_if<connect>(&*p); c && options_.from == sender::client)
    options_.version = c->version;
  return std::optional<packet>{std::move(*p)};
}

}  // namespace tern

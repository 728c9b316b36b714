// Test memory: a std::pmr::memory_resource that counts what passes through it, and a per-thread
// counter of global operator new calls.
//
// counting_resource forwards to an upstream resource and records allocations, deallocations,
// bytes in use and the peak. The core is built without exceptions and pmr reports failure by
// throwing, so it never fails an allocation; instead a test gives it a `limit` and asserts that
// the peak never crossed it (limit_exceeded()).
//
// Global new counting: exactly one test TU (tests/unit/allocation_test.cpp) defines the
// replacement operator new/delete that bump global_new_calls(); any TU may then open an
// allocation_scope and read how many operator new calls its thread made since.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory_resource>

namespace tern::test {

class counting_resource final : public std::pmr::memory_resource {
 public:
  explicit counting_resource(
      std::size_t limit = std::numeric_limits<std::size_t>::max(),
      std::pmr::memory_resource* upstream = std::pmr::new_delete_resource()) noexcept
      : upstream_(upstream), limit_(limit) {}

  counting_resource(const counting_resource&) = delete;
  counting_resource& operator=(const counting_resource&) = delete;

  std::size_t allocations() const noexcept { return allocations_; }
  std::size_t deallocations() const noexcept { return deallocations_; }
  std::size_t bytes_in_use() const noexcept { return in_use_; }
  std::size_t peak() const noexcept { return peak_; }
  // The largest single request seen.
  std::size_t largest() const noexcept { return largest_; }
  std::size_t limit() const noexcept { return limit_; }
  bool limit_exceeded() const noexcept { return peak_ > limit_; }
  // Deallocations that named a size or alignment different from their allocation's are not
  // tracked per block; this counts frees of more bytes than are in use (a double free or a
  // wrong size), which a correct user never causes.
  std::size_t bad_deallocations() const noexcept { return bad_deallocations_; }

  void set_limit(std::size_t limit) noexcept { limit_ = limit; }
  // Forgets the counters (not the blocks in use): the peak restarts from what is in use now.
  void reset_counters() noexcept {
    allocations_ = deallocations_ = largest_ = bad_deallocations_ = 0;
    peak_ = in_use_;
  }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    void* p = upstream_->allocate(bytes, alignment);
    ++allocations_;
    in_use_ += bytes;
    if (in_use_ > peak_) peak_ = in_use_;
    if (bytes > largest_) largest_ = bytes;
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    ++deallocations_;
    if (bytes > in_use_) {
      ++bad_deallocations_;
      in_use_ = 0;
    } else {
      in_use_ -= bytes;
    }
    upstream_->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::pmr::memory_resource* upstream_;
  std::size_t limit_;
  std::size_t allocations_ = 0;
  std::size_t deallocations_ = 0;
  std::size_t in_use_ = 0;
  std::size_t peak_ = 0;
  std::size_t largest_ = 0;
  std::size_t bad_deallocations_ = 0;
};

// Calls of any global operator new (every form) made by this thread so far. Defined, together
// with the replacement operators, in tests/unit/allocation_test.cpp.
std::uint64_t& global_new_calls() noexcept;

// Counts the global operator new calls this thread makes while the scope lives.
class allocation_scope {
 public:
  allocation_scope() noexcept : start_(global_new_calls()) {}
  allocation_scope(const allocation_scope&) = delete;
  allocation_scope& operator=(const allocation_scope&) = delete;
  std::uint64_t count() const noexcept { return global_new_calls() - start_; }

 private:
  std::uint64_t start_;
};

}  // namespace tern::test

// Counts every heap allocation of a benchmark program by replacing the global operator new.
// Include it from exactly one translation unit per program: replacement allocation functions
// may not be inline, so these are ordinary definitions. Read tern_bench_allocations().
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace tern_bench {
inline std::atomic<std::uint64_t> allocations{0};
}  // namespace tern_bench

inline std::uint64_t tern_bench_allocations() noexcept {
  return tern_bench::allocations.load(std::memory_order_relaxed);
}

void* operator new(std::size_t n) {
  tern_bench::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  tern_bench::allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return ::operator new(n, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

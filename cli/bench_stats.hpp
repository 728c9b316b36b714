// What `tern bench` measures, apart from the connections that produce it: the stamp each
// payload carries, a bounded latency histogram, the arrival order of one publisher's messages
// at one subscriber, and the process's CPU time and peak memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace tern::cli {

// ---- the payload stamp ------------------------------------------------------------------------

// The first bytes of every bench payload (the rest is filler). All connections live in one
// process, so the steady clock is shared and a receive time minus sent_ns is the end-to-end
// latency. run_id tells this run's messages from another bench's on the same broker.
struct bench_stamp {
  std::uint32_t run_id = 0;
  std::uint32_t publisher = 0;  // publisher index
  std::uint64_t sequence = 0;   // 0, 1, 2, ... per publisher
  std::int64_t sent_ns = 0;     // steady_clock, nanoseconds since its epoch
};

inline constexpr std::size_t bench_stamp_size = 24;

// `payload` must hold at least bench_stamp_size bytes.
void write_stamp(std::span<std::byte> payload, const bench_stamp& stamp) noexcept;
// std::nullopt when the payload is too short to carry a stamp.
std::optional<bench_stamp> read_stamp(std::span<const std::byte> payload) noexcept;

// steady_clock::now() in nanoseconds since the clock's epoch.
std::int64_t steady_now_ns() noexcept;

// ---- latency histogram ------------------------------------------------------------------------

// Log-linear buckets (as HdrHistogram): values below 2^precision_bits are exact; above, each
// power of two is cut into 2^(precision_bits-1) equal buckets, so a percentile is within
// 1/2^(precision_bits-1) (0.8 %) of the true value. Fixed size (~59 KiB) whatever the count.
class latency_histogram {
 public:
  static constexpr unsigned precision_bits = 8;

  void record(std::uint64_t value) noexcept;
  void merge(const latency_histogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  // The value below which `percent` % of the recorded values fall (the middle of its bucket,
  // clamped to [min, max]); 0 when empty.
  std::uint64_t percentile(double percent) const noexcept;

  static std::size_t bucket_of(std::uint64_t value) noexcept;
  static std::uint64_t bucket_low(std::size_t bucket) noexcept;   // smallest value in it
  static std::uint64_t bucket_high(std::size_t bucket) noexcept;  // largest value in it

 private:
  static constexpr std::size_t exact_count = std::size_t{1} << precision_bits;
  static constexpr std::size_t per_octave = exact_count / 2;
  static constexpr std::size_t bucket_count = exact_count + (64 - precision_bits) * per_octave;

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

// ---- arrival order ----------------------------------------------------------------------------

// One publisher's sequence numbers as one subscriber sees them. Keeps the highest number seen
// and which of the 64 below it arrived, so duplicates and late arrivals are told apart in O(1)
// and 24 bytes. A number more than 64 below the highest is counted as late (not as a duplicate).
class sequence_tracker {
 public:
  enum class arrival { in_order, late, duplicate };

  arrival record(std::uint64_t sequence) noexcept;
  std::uint64_t unique() const noexcept { return unique_; }

 private:
  std::uint64_t next_ = 0;    // highest seen + 1
  std::uint64_t recent_ = 0;  // bit k: next_ - 1 - k has arrived
  std::uint64_t unique_ = 0;
};

// ---- the process's resources ------------------------------------------------------------------

struct resource_usage {
  double user_seconds = 0;
  double system_seconds = 0;
  std::uint64_t peak_rss_bytes = 0;

  static resource_usage of_process() noexcept;  // getrusage(RUSAGE_SELF)
};

}  // namespace tern::cli

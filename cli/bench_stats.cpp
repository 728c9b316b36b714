#include "bench_stats.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>

namespace tern::cli {

// ---- the payload stamp ------------------------------------------------------------------------

// Native byte order: the stamp is written and read by the same process.
void write_stamp(std::span<std::byte> payload, const bench_stamp& stamp) noexcept {
  std::byte* p = payload.data();
  std::memcpy(p, &stamp.run_id, 4);
  std::memcpy(p + 4, &stamp.publisher, 4);
  std::memcpy(p + 8, &stamp.sequence, 8);
  std::memcpy(p + 16, &stamp.sent_ns, 8);
}

std::optional<bench_stamp> read_stamp(std::span<const std::byte> payload) noexcept {
  if (payload.size() < bench_stamp_size) return std::nullopt;
  const std::byte* p = payload.data();
  bench_stamp s;
  std::memcpy(&s.run_id, p, 4);
  std::memcpy(&s.publisher, p + 4, 4);
  std::memcpy(&s.sequence, p + 8, 8);
  std::memcpy(&s.sent_ns, p + 16, 8);
  return s;
}

std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- latency histogram ------------------------------------------------------------------------

std::size_t latency_histogram::bucket_of(std::uint64_t value) noexcept {
  if (value < exact_count) return static_cast<std::size_t>(value);
  const unsigned octave = static_cast<unsigned>(std::bit_width(value)) - 1;  // >= precision_bits
  const unsigned shift = octave - (precision_bits - 1);
  const std::uint64_t within = (value >> shift) - per_octave;  // [0, per_octave)
  return exact_count + (octave - precision_bits) * per_octave + static_cast<std::size_t>(within);
}

std::uint64_t latency_histogram::bucket_low(std::size_t bucket) noexcept {
  if (bucket < exact_count) return bucket;
  const std::size_t j = bucket - exact_count;
  const unsigned octave = precision_bits + static_cast<unsigned>(j / per_octave);
  const std::uint64_t leading = per_octave + j % per_octave;
  return leading << (octave - (precision_bits - 1));
}

std::uint64_t latency_histogram::bucket_high(std::size_t bucket) noexcept {
  if (bucket < exact_count) return bucket;
  const std::size_t j = bucket - exact_count;
  const unsigned octave = precision_bits + static_cast<unsigned>(j / per_octave);
  const std::uint64_t width = std::uint64_t{1} << (octave - (precision_bits - 1));
  return bucket_low(bucket) + (width - 1);
}

void latency_histogram::record(std::uint64_t value) noexcept {
  ++counts_[bucket_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double latency_histogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t latency_histogram::percentile(double percent) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(std::clamp(percent, 0.0, 100.0) / 100.0 *
                                  static_cast<double>(count_));
  const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  if (rank >= count_) return max_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t low = bucket_low(i);
      const std::uint64_t middle = low + (bucket_high(i) - low) / 2;
      return std::clamp(middle, min(), max_);
    }
  }
  return max_;
}

// ---- arrival order ----------------------------------------------------------------------------

sequence_tracker::arrival sequence_tracker::record(std::uint64_t sequence) noexcept {
  if (sequence >= next_) {
    // The new highest: what was bit k (next_-1-k) becomes bit k + shift.
    const std::uint64_t shift = sequence + 1 - next_;
    recent_ = (next_ == 0 || shift >= 64) ? 1 : (recent_ << shift) | 1;
    next_ = sequence + 1;
    ++unique_;
    return arrival::in_order;
  }
  const std::uint64_t behind = next_ - 1 - sequence;
  if (behind < 64) {
    const std::uint64_t bit = std::uint64_t{1} << behind;
    if ((recent_ & bit) != 0) return arrival::duplicate;
    recent_ |= bit;
  }
  ++unique_;
  return arrival::late;
}

// ---- the process's resources ------------------------------------------------------------------

resource_usage resource_usage::of_process() noexcept {
  resource_usage r;
  rusage u{};
  if (::getrusage(RUSAGE_SELF, &u) != 0) return r;
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  r.user_seconds = seconds(u.ru_utime);
  r.system_seconds = seconds(u.ru_stime);
  r.peak_rss_bytes = static_cast<std::uint64_t>(u.ru_maxrss) * 1024;  // Linux: KiB
  return r;
}

}  // namespace tern::cli

#include "tern/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace tern {

std::uint64_t backoff::next_random() noexcept {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

duration backoff::next_delay() noexcept {
  const double initial = static_cast<double>(std::max(config_.initial.count(), duration::rep{0}));
  const double maximum = std::max(initial, static_cast<double>(config_.maximum.count()));
  const double factor = std::max(1.0, config_.factor);
  // Grow by repeated multiplication so huge attempt counts saturate instead of overflowing.
  double delay = initial;
  for (std::uint32_t i = 0; i < attempts_ && delay < maximum; ++i) delay *= factor;
  delay = std::min(delay, maximum);
  const double jitter = std::clamp(config_.jitter, 0.0, 1.0);
  const double unit = static_cast<double>(next_random() >> 11) * 0x1.0p-53;  // [0, 1)
  delay -= delay * jitter * unit;
  if (attempts_ != UINT32_MAX) ++attempts_;
  return duration(static_cast<duration::rep>(delay));
}

}  // namespace tern

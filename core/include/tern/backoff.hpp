// Exponential backoff with jitter for reconnection, deterministic from a seed.
#pragma once

#include <cstdint>

#include "tern/session_config.hpp"
#include "tern/time.hpp"

namespace tern {

class backoff {
 public:
  explicit backoff(const backoff_config& config, std::uint64_t seed) noexcept
      : config_(config), state_(seed) {}

  // The delay before the next attempt: initial * factor^attempts, capped at maximum, then
  // reduced by a random fraction in [0, jitter). Each call counts one attempt.
  duration next_delay() noexcept;
  // Back to `initial` (after a connection that stayed up for stable_after).
  void reset() noexcept { attempts_ = 0; }
  std::uint32_t attempts() const noexcept { return attempts_; }

 private:
  std::uint64_t next_random() noexcept;  // splitmix64

  backoff_config config_;
  std::uint64_t state_;
  std::uint32_t attempts_ = 0;
};

}  // namespace tern

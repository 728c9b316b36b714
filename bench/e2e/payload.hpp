// Payload stamping shared by the drivers: the first 8 bytes carry the message's sequence
// number, so a subscriber can tell a lost, repeated or reordered delivery.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tern::bench {

inline void stamp_sequence(std::string& payload, std::uint64_t seq) {
  if (payload.size() >= sizeof seq) std::memcpy(payload.data(), &seq, sizeof seq);
}

inline std::uint64_t read_sequence(std::string_view payload) {
  std::uint64_t seq = 0;
  if (payload.size() >= sizeof seq) std::memcpy(&seq, payload.data(), sizeof seq);
  return seq;
}

// QoS 1/2 on one connection through one broker must arrive complete and in order; QoS 0 may
// lose messages but never repeat or reorder them.
class sequence_check {
 public:
  bool accept(std::string_view payload, int qos) {
    const std::uint64_t seq = read_sequence(payload);
    const bool ok = qos > 0 ? seq == next_ : seq >= next_;
    if (!ok) {
      problem_ = "expected message " + std::to_string(next_) + ", received " + std::to_string(seq) +
                 (seq < next_ ? " (repeated or reordered)" : " (lost)");
      return false;
    }
    next_ = seq + 1;
    return true;
  }
  const std::string& problem() const noexcept { return problem_; }

 private:
  std::uint64_t next_ = 0;
  std::string problem_;
};

}  // namespace tern::bench

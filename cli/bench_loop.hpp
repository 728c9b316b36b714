// One `tern bench` event loop: a thread that drives a share of the publisher and subscriber
// connections through tern::client's socket driver (socket callbacks, loop_read / loop_write /
// loop_misc, next_timeout) from one epoll set. The main thread steers every loop through the
// phases with bench_control and watches bench_counters; a loop's full results are read after
// its thread has ended.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_plan.hpp"
#include "bench_stats.hpp"

namespace tern::cli {

enum class bench_phase : std::uint8_t {
  connecting,     // connect everything, subscribe the subscribers
  publishing,     // publishers send (from bench_control::start_ns)
  draining,       // no new messages; acknowledgements and deliveries still arrive
  disconnecting,  // DISCONNECT everything, then the loops end
};

// Written by the main thread, read by the loops (which are woken when it changes).
struct bench_control {
  std::atomic<bench_phase> phase{bench_phase::connecting};
  std::atomic<std::int64_t> start_ns{0};
};

// Written by one loop only, read by the main thread at any time (progress, phase decisions).
struct bench_counters {
  std::atomic<std::uint64_t> ready{0};   // publishers connected, subscribers subscribed
  std::atomic<std::uint64_t> failed{0};  // connections refused, timed out or lost
  std::atomic<std::uint64_t> published{0};   // accepted by publish()
  std::atomic<std::uint64_t> completed{0};   // QoS 0 written, QoS 1/2 acknowledged (or failed)
  std::atomic<std::uint64_t> publish_errors{0};  // refused by publish() or by the broker
  std::atomic<std::int64_t> outstanding{0};      // published, not completed, on live connections
  std::atomic<std::uint64_t> publishers_stopped{0};  // reached the count, or failed
  std::atomic<std::uint64_t> received{0};            // every delivery, duplicates included
  std::atomic<std::uint64_t> unique_received{0};
  std::atomic<std::uint64_t> expected{0};  // deliveries owed: each completion × its fan-out
  // The phase the loop has entered: once it shows draining, the loop publishes no more.
  std::atomic<int> phase_entered{0};
};

// What a loop leaves behind when its thread ends.
struct bench_loop_result {
  latency_histogram latency;
  std::uint64_t duplicates = 0;
  std::uint64_t late = 0;     // arrived after a higher sequence number from the same publisher
  std::uint64_t foreign = 0;  // no stamp of this run (another client on the same topics)
  std::int64_t last_completion_ns = 0;
  std::int64_t last_receive_ns = 0;
  std::vector<std::pair<std::size_t, std::uint64_t>> delivered;  // publisher → completions OK
  std::vector<std::pair<std::size_t, std::vector<std::uint64_t>>> unique_from;  // subscriber →
                                                                  // unique count per publisher
  std::vector<std::string> failures;  // one line per failed connection (the first 32)
  std::uint64_t failures_total = 0;
  std::vector<std::string> publish_problems;  // the first refused message of each publisher
};

class bench_loop {
 public:
  // The loop owns the connections of `publishers` and `subscribers` (indexes into the plan).
  bench_loop(const bench_settings& settings, const bench_plan& plan, bench_control& control,
             std::vector<std::size_t> publishers, std::vector<std::size_t> subscribers);
  ~bench_loop();
  bench_loop(const bench_loop&) = delete;
  bench_loop& operator=(const bench_loop&) = delete;

  // The thread's body: returns after the disconnecting phase has closed every connection.
  void run();
  // Makes the loop look at bench_control now (from any thread).
  void wake() noexcept;

  bench_counters& counters() noexcept;
  // Valid once run() has returned.
  bench_loop_result& result() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tern::cli

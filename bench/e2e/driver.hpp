// The contract between bench_e2e's harness and each client it measures ("driver").
//
// The harness forks one child process per (driver, cell); the child runs the driver on its own
// threads. A driver connects its clients to the broker at cell.port, calls ctl.ready() once
// everything is connected and subscribed, then moves messages as fast as its API allows until
// ctl.stopping(), counting each finished message with ctl.count(). The harness samples the
// count, the process's CPU time and system calls between two instants after a warm-up, so
// connecting and tearing down are not measured. Peak RSS is the child's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tern::bench {

enum class flow : std::uint8_t {
  publish_only,       // one publisher, no subscriber; a message counts when the publish is
                      // finished: written (QoS 0), PUBACK (QoS 1), PUBCOMP (QoS 2)
  publish_subscribe,  // one publisher and one subscriber in the same process, same topic and
                      // QoS; a message counts when the subscriber receives it
};

struct cell {
  std::uint16_t port = 0;  // the broker on 127.0.0.1
  int qos = 0;
  std::size_t payload = 64;
  enum flow flow = flow::publish_only;
  unsigned window = 100;  // QoS 1/2: unacknowledged publishes at most (receive maximum alike)
  // publish_subscribe: the publisher stays at most this many messages ahead of what the
  // subscriber has received, so the broker's queue stays bounded whatever the QoS.
  unsigned lead = 10'000;
  std::string topic = "bench/e2e";
  int protocol = 4;  // 4: MQTT 3.1.1 (every client speaks it), 5: MQTT 5.0 where supported
};

class control {
 public:
  // Everything is connected and subscribed; measurement may start.
  void ready() noexcept { ready_.store(true, std::memory_order_release); }
  bool is_ready() const noexcept { return ready_.load(std::memory_order_acquire); }
  // One more finished message (see flow). Cheap: a relaxed add.
  void count(std::uint64_t n = 1) noexcept { done_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t counted() const noexcept { return done_.load(std::memory_order_relaxed); }
  // The harness has taken its last sample: stop publishing and return from run().
  bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }
  void stop() noexcept { stop_.store(true, std::memory_order_release); }
  // A driver that cannot go on says why; the harness reports the cell as failed.
  void fail(std::string why) {
    failure_ = std::move(why);
    stop();
  }
  const std::string& failure() const noexcept { return failure_; }

 private:
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> done_{0};
  std::string failure_;
};

// Publishers refill the QoS 1/2 window in bursts of a quarter of it: one write then carries
// many messages and the broker reads them together. Every driver follows this rule (raw
// included), so the table compares the libraries, not publishing patterns.
inline std::uint64_t refill_burst(const cell& c) {
  return c.qos > 0 && c.window >= 4 ? c.window / 4 : 1;
}

// How the Tern drivers pace their publisher, from its three counters: at most the window of
// QoS 1/2 messages unfinished (QoS 0: qos0_outstanding not yet written), and in
// publish→subscribe at most cell.lead ahead of the subscriber.
struct publish_pacing {
  static constexpr std::uint64_t qos0_outstanding = 1000;

  std::uint64_t limit() const { return c.qos == 0 ? qos0_outstanding : c.window; }
  // A burst starts once refill_burst() messages fit, then fills the window.
  bool burst_fits(std::uint64_t published, std::uint64_t completed) const {
    const std::uint64_t in_flight = published - completed;
    return in_flight == 0 || (in_flight < limit() && limit() - in_flight >= refill_burst(c));
  }
  bool may_publish(std::uint64_t published, std::uint64_t completed, std::uint64_t received) const {
    if (published - completed >= limit()) return false;
    return c.flow == flow::publish_only || published - received < c.lead;
  }

  const cell& c;
};

// Runs until ctl.stopping() (or a failure); must return promptly after it.
using driver_fn = void (*)(const cell&, control& ctl);

struct driver {
  const char* name;  // "raw", "tern-asio", "tern-client", "libmosquitto", "paho" (--drivers)
  driver_fn run;
};

// The drivers (one file each in bench/e2e/).
void run_raw(const cell&, control&);           // raw_driver.cpp: hand-encoded packets, epoll
void run_tern_asio(const cell&, control&);     // tern_asio_driver.cpp: tern::asio::client
void run_tern_client(const cell&, control&);   // tern_client_driver.cpp: tern::client, user loop
void run_libmosquitto(const cell&, control&);  // mosquitto_driver.cpp: libmosquitto
void run_paho(const cell&, control&);          // paho_driver.cpp: paho.mqtt.c MQTTAsync

}  // namespace tern::bench

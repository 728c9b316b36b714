// bench_e2e driver for libmosquitto (2.0): see driver.hpp for the contract.
//
// Both clients run on the driver's own thread, driven by hand: poll() over their sockets,
// mosquitto_loop_read/_write/_misc, and mosquitto_publish called outside any callback so the
// library writes the packet at once instead of queueing it for its loop. The alternative,
// mosquitto_loop_start per client with the driver thread publishing (waiting on a condition
// variable for window room), was slower: every publish then wakes the library's thread
// through its socket pair and select(). Quick best-of-3 (64 B, 3.1.1; msg/s, manual vs
// threaded): QoS 0 pub 733k vs 246k, QoS 1 pub 209k vs 137k, QoS 0 pub→sub 202k vs 154k,
// QoS 1 pub→sub 92k vs 68k, with less CPU per message too.
#include <mosquitto.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "driver.hpp"
#include "payload.hpp"

namespace tern::bench {
namespace {

std::string client_id(const char* role) {
  static std::atomic<unsigned> serial{0};
  return std::string("tern-bench-mosq-") + role + '-' + std::to_string(::getpid()) + '-' +
         std::to_string(serial.fetch_add(1));
}

// State shared by the callbacks of both clients; all run on the driver thread.
struct state {
  const cell* c = nullptr;
  control* ctl = nullptr;
  bool failed = false;
  int connected = 0;
  bool subscribed = false;
  std::uint64_t finished = 0;  // publisher: on_publish calls
  std::uint64_t received = 0;  // subscriber: on_message calls
  sequence_check order;        // subscriber: complete and in order (QoS 1/2)
  std::uint64_t events = 0;    // any callback: tells the read loop it made progress

  void fail(std::string why) {
    if (!failed) ctl->fail("libmosquitto: " + why);
    failed = true;
  }
};

state* of(void* user) { return static_cast<state*>(user); }

void on_connect(mosquitto*, void* user, int rc) {
  auto* s = of(user);
  if (rc != 0) return s->fail(std::string("connect refused: ") + mosquitto_connack_string(rc));
  ++s->connected;
}

void on_disconnect(mosquitto*, void* user, int rc) {
  auto* s = of(user);
  if (rc != 0 && !s->ctl->stopping())
    s->fail(std::string("connection lost: ") + mosquitto_strerror(rc));
}

void on_subscribe(mosquitto*, void* user, int, int count, const int* granted) {
  auto* s = of(user);
  if (count != 1 || granted[0] != s->c->qos)
    return s->fail("subscription not granted at QoS " + std::to_string(s->c->qos));
  s->subscribed = true;
}

void on_publish(mosquitto*, void* user, int) {
  auto* s = of(user);
  ++s->finished;
  ++s->events;
  if (s->c->flow == flow::publish_only) s->ctl->count();
}

void on_message(mosquitto*, void* user, const mosquitto_message* msg) {
  auto* s = of(user);
  const std::string_view payload(static_cast<const char*>(msg->payload),
                                 static_cast<std::size_t>(msg->payloadlen));
  if (!s->order.accept(payload, s->c->qos)) return s->fail("subscriber: " + s->order.problem());
  ++s->received;
  ++s->events;
  s->ctl->count();
}

// A mosquitto handle that disconnects and is destroyed on scope exit.
struct client {
  mosquitto* m = nullptr;
  ~client() {
    if (!m) return;
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
  }
};

bool make(client& cl, state& s, const char* role, bool subscriber) {
  const cell& c = *s.c;
  const std::string id = client_id(role);
  cl.m = mosquitto_new(id.c_str(), true, &s);
  if (!cl.m) {
    s.fail(std::string("mosquitto_new: ") + std::strerror(errno));
    return false;
  }
  mosquitto_connect_callback_set(cl.m, on_connect);
  mosquitto_disconnect_callback_set(cl.m, on_disconnect);
  if (subscriber) {
    mosquitto_subscribe_callback_set(cl.m, on_subscribe);
    mosquitto_message_callback_set(cl.m, on_message);
  } else {
    mosquitto_publish_callback_set(cl.m, on_publish);
  }
  const int window = static_cast<int>(c.window);
  int rc = mosquitto_int_option(cl.m, MOSQ_OPT_PROTOCOL_VERSION,
                                c.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_int_option(cl.m, MOSQ_OPT_TCP_NODELAY, 1);
  // The send maximum is what bounds our in-flight publishes (for 3.1.1 too); the receive
  // maximum is only sent with MQTT 5.
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_int_option(cl.m, MOSQ_OPT_SEND_MAXIMUM, window);
  if (rc == MOSQ_ERR_SUCCESS && c.protocol == 5)
    rc = mosquitto_int_option(cl.m, MOSQ_OPT_RECEIVE_MAXIMUM, window);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_connect(cl.m, "127.0.0.1", c.port, 60);
  if (rc != MOSQ_ERR_SUCCESS) {
    s.fail(std::string("connect: ") + mosquitto_strerror(rc));
    return false;
  }
  return true;
}

bool publish(state& s, mosquitto* m, std::string& payload, std::uint64_t seq) {
  stamp_sequence(payload, seq);
  const int rc = mosquitto_publish(m, nullptr, s.c->topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), s.c->qos, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    s.fail(std::string("publish: ") + mosquitto_strerror(rc));
    return false;
  }
  return true;
}

// How many more messages the publisher may send now: at most `window` not finished (written,
// for QoS 0, which bounds what the library queues), and at most `lead` ahead of the subscriber.
std::uint64_t room(const state& s, std::uint64_t published) {
  const cell& c = *s.c;
  const std::uint64_t finished = s.finished;
  std::uint64_t r = finished + c.window > published ? finished + c.window - published : 0;
  if (r < refill_burst(c) && published != finished) r = 0;  // see refill_burst()
  if (c.flow == flow::publish_subscribe) {
    const std::uint64_t got = s.received;
    r = std::min(r, got + c.lead > published ? got + c.lead - published : 0);
  }
  return r;
}

void run(state& s, client* clients, std::size_t n) {
  const cell& c = *s.c;
  control& ctl = *s.ctl;
  mosquitto* pub = clients[0].m;

  // Connect (and subscribe) with the library's own single-client loop; not measured.
  const auto setup_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool subscribe_sent = false;
  while (!s.failed && !ctl.stopping()) {
    if (s.connected == static_cast<int>(n) && n == 2 && !subscribe_sent) {
      const int rc = mosquitto_subscribe(clients[1].m, nullptr, c.topic.c_str(), c.qos);
      if (rc != MOSQ_ERR_SUCCESS)
        return s.fail(std::string("subscribe: ") + mosquitto_strerror(rc));
      subscribe_sent = true;
    }
    if (s.connected == static_cast<int>(n) && (n == 1 || s.subscribed)) break;
    if (std::chrono::steady_clock::now() > setup_deadline)
      return s.fail("connect/subscribe timed out");
    for (std::size_t i = 0; i < n; ++i) {
      const int rc = mosquitto_loop(clients[i].m, 10, 1);
      if (rc != MOSQ_ERR_SUCCESS) return s.fail(std::string("loop: ") + mosquitto_strerror(rc));
    }
  }
  if (s.failed || ctl.stopping()) return;
  ctl.ready();

  std::string payload(c.payload, 'x');
  std::uint64_t published = 0;
  std::array<pollfd, 2> fds{};
  auto next_misc = std::chrono::steady_clock::now();
  while (!ctl.stopping()) {
    // QoS 0 publishes finish inside mosquitto_publish (written at once), so room is taken
    // afresh; the batch cap lets the loop below still service the sockets.
    for (unsigned k = 0; k < c.window && room(s, published) > 0; ++k) {
      if (!publish(s, pub, payload, published)) return;
      ++published;
    }
    const int timeout = room(s, published) > 0 ? 0 : 100;
    for (std::size_t i = 0; i < n; ++i) {
      fds[i].fd = mosquitto_socket(clients[i].m);
      fds[i].events =
          static_cast<short>(POLLIN | (mosquitto_want_write(clients[i].m) ? POLLOUT : 0));
      fds[i].revents = 0;
    }
    if (::poll(fds.data(), n, timeout) < 0 && errno != EINTR)
      return s.fail(std::string("poll: ") + std::strerror(errno));
    for (std::size_t i = 0; i < n; ++i) {
      if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        if (!ctl.stopping()) s.fail("connection lost");
        return;
      }
      if (fds[i].revents & POLLIN) {
        // loop_read reads only as many packets as the client has QoS>0 messages in flight
        // (one, for a QoS 0 subscriber), so call it again while it keeps making progress.
        for (int k = 0; k < 256; ++k) {
          const std::uint64_t before = s.events;
          const int rc = mosquitto_loop_read(clients[i].m, 1);
          if (rc != MOSQ_ERR_SUCCESS) {
            if (!ctl.stopping()) s.fail(std::string("read: ") + mosquitto_strerror(rc));
            return;
          }
          if (s.events == before) break;
        }
      }
      if ((fds[i].revents & POLLOUT) || mosquitto_want_write(clients[i].m)) {
        const int rc = mosquitto_loop_write(clients[i].m, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
          if (!ctl.stopping()) s.fail(std::string("write: ") + mosquitto_strerror(rc));
          return;
        }
      }
    }
    // Keep-alive and retries; once a second is plenty for a 60 s keep-alive.
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_misc) {
      for (std::size_t i = 0; i < n; ++i) mosquitto_loop_misc(clients[i].m);
      next_misc = now + std::chrono::seconds(1);
    }
  }
}

}  // namespace

void run_libmosquitto(const cell& c, control& ctl) {
  mosquitto_lib_init();
  {
    state s;
    s.c = &c;
    s.ctl = &ctl;
    const std::size_t n = c.flow == flow::publish_subscribe ? 2 : 1;
    std::array<client, 2> clients;
    bool ok = make(clients[0], s, "pub", false);
    if (ok && n == 2) ok = make(clients[1], s, "sub", true);
    if (ok) run(s, clients.data(), n);
  }
  mosquitto_lib_cleanup();
}

}  // namespace tern::bench

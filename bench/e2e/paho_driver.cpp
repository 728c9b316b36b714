// bench_e2e driver for paho.mqtt.c's MQTTAsync (1.3): see driver.hpp for the contract.
//
// MQTTAsync runs its own send and receive threads (shared by every client in the process);
// an application can only queue commands and react to callbacks. We publish from those
// callbacks: each completion (onSuccess, or messageArrived for publish→subscribe) tops the
// window up with MQTTAsync_sendMessage. The driver thread publishing and sleeping on a
// condition variable until completions made room was slower in a quick best-of-3 (64 B,
// 3.1.1; msg/s): QoS 0 pub 78k vs 108k, QoS 1 pub 26k vs 58k, QoS 0 pub→sub 44k vs 65k,
// QoS 1 pub→sub 25k vs 26k, with more CPU per message (futex wake-ups across threads).
#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "driver.hpp"
#include "payload.hpp"

namespace tern::bench {
namespace {

std::string client_id(const char* role) {
  static std::atomic<unsigned> serial{0};
  return std::string("tern-bench-paho-") + role + '-' + std::to_string(::getpid()) + '-' +
         std::to_string(serial.fetch_add(1));
}

std::string error_text(int rc) {
  const char* s = MQTTAsync_strerror(rc);
  return (s ? std::string(s) : std::string("error")) + " (" + std::to_string(rc) + ")";
}

// What a failure callback reports: paho's message, or the text of its code.
template <class Failure>
std::string failure_text(const Failure* f) {
  return f && f->message ? std::string(f->message) : error_text(f ? f->code : -1);
}

// Shared by the callbacks, which run on paho's threads.
struct state {
  const cell* c = nullptr;
  control* ctl = nullptr;
  MQTTAsync pub = nullptr;
  std::atomic<bool> failed{false};
  std::atomic<int> connected{0};
  std::atomic<bool> subscribed{false};
  std::atomic<int> disconnected{0};
  std::atomic<std::uint64_t> finished{0};  // publisher: onSuccess of a publish
  std::atomic<std::uint64_t> received{0};  // subscriber: messageArrived
  sequence_check order;                    // receive thread only

  // Publishing, from whichever thread freed room (see pump()).
  std::mutex pub_m;
  std::atomic<bool> pending{false};
  std::uint64_t published = 0;  // under pub_m
  std::string payload;          // under pub_m; paho copies it
  std::atomic<bool> started{false};

  void fail(const std::string& why) {
    if (!failed.exchange(true)) ctl->fail("paho.mqtt.c: " + why);
  }
};

state* of(void* context) { return static_cast<state*>(context); }

std::uint64_t room(const state& s, std::uint64_t published) {
  const cell& c = *s.c;
  const std::uint64_t finished = s.finished.load(std::memory_order_relaxed);
  std::uint64_t r = finished + c.window > published ? finished + c.window - published : 0;
  if (r < refill_burst(c) && published != finished) r = 0;  // see refill_burst()
  if (c.flow == flow::publish_subscribe) {
    const std::uint64_t got = s.received.load(std::memory_order_relaxed);
    r = std::min(r, got + c.lead > published ? got + c.lead - published : 0);
  }
  return r;
}

void on_publish_failure(void* context, MQTTAsync_failureData* f) {
  auto* s = of(context);
  if (!s->ctl->stopping()) s->fail("publish failed: " + failure_text(f));
}
void on_publish_failure5(void* context, MQTTAsync_failureData5* f) {
  auto* s = of(context);
  if (!s->ctl->stopping()) s->fail("publish failed: " + failure_text(f));
}

void pump(state& s);

void published_one(state& s) {
  s.finished.fetch_add(1, std::memory_order_relaxed);
  if (s.c->flow == flow::publish_only) s.ctl->count();
  pump(s);
}
void on_publish_success(void* context, MQTTAsync_successData*) { published_one(*of(context)); }
void on_publish_success5(void* context, MQTTAsync_successData5*) { published_one(*of(context)); }

bool send_one(state& s, std::uint64_t seq) {
  stamp_sequence(s.payload, seq);
  MQTTAsync_message msg = MQTTAsync_message_initializer;
  msg.payload = s.payload.data();
  msg.payloadlen = static_cast<int>(s.payload.size());
  msg.qos = s.c->qos;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.context = &s;
  if (s.c->protocol == 5) {
    ro.onSuccess5 = on_publish_success5;
    ro.onFailure5 = on_publish_failure5;
  } else {
    ro.onSuccess = on_publish_success;
    ro.onFailure = on_publish_failure;
  }
  const int rc = MQTTAsync_sendMessage(s.pub, s.c->topic.c_str(), &msg, &ro);
  if (rc != MQTTASYNC_SUCCESS) {
    s.fail("MQTTAsync_sendMessage: " + error_text(rc));
    return false;
  }
  return true;
}

// Publishes while there is room; whoever finds pub_m taken leaves a note for its holder
// instead of blocking (callbacks come from both of paho's threads).
void pump(state& s) {
  if (!s.started.load()) return;
  s.pending.store(true);
  while (s.pending.load() && !s.ctl->stopping() && !s.failed.load()) {
    std::unique_lock<std::mutex> lock(s.pub_m, std::try_to_lock);
    if (!lock) return;
    s.pending.store(false);
    for (std::uint64_t r = room(s, s.published); r > 0; --r) {
      if (!send_one(s, s.published)) return;
      ++s.published;
    }
  }
}

int on_message(void* context, char* topic, int, MQTTAsync_message* msg) {
  auto* s = of(context);
  const std::string_view payload(static_cast<const char*>(msg->payload),
                                 static_cast<std::size_t>(msg->payloadlen));
  if (!s->order.accept(payload, s->c->qos)) s->fail("subscriber: " + s->order.problem());
  MQTTAsync_freeMessage(&msg);
  MQTTAsync_free(topic);
  s->received.fetch_add(1, std::memory_order_relaxed);
  s->ctl->count();
  pump(*s);
  return 1;
}

// MQTTAsync_setCallbacks insists on a message handler, even for the publisher.
int discard(void*, char* topic, int, MQTTAsync_message* msg) {
  MQTTAsync_freeMessage(&msg);
  MQTTAsync_free(topic);
  return 1;
}

void on_connection_lost(void* context, char* cause) {
  auto* s = of(context);
  if (!s->ctl->stopping())
    s->fail(std::string("connection lost: ") + (cause ? cause : "unknown cause"));
}

void on_connect(void* context, MQTTAsync_successData*) { of(context)->connected.fetch_add(1); }
void on_connect5(void* context, MQTTAsync_successData5*) { of(context)->connected.fetch_add(1); }
void on_connect_failure(void* context, MQTTAsync_failureData* f) {
  of(context)->fail("connect failed: " + failure_text(f));
}
void on_connect_failure5(void* context, MQTTAsync_failureData5* f) {
  of(context)->fail("connect failed: " + failure_text(f));
}

void on_subscribe(void* context, MQTTAsync_successData* d) {
  auto* s = of(context);
  if (d && d->alt.qos != s->c->qos)
    return s->fail("subscription not granted at QoS " + std::to_string(s->c->qos));
  s->subscribed.store(true);
}
void on_subscribe5(void* context, MQTTAsync_successData5* d) {
  auto* s = of(context);
  if (d && static_cast<int>(d->reasonCode) != s->c->qos)
    return s->fail("subscription not granted at QoS " + std::to_string(s->c->qos));
  s->subscribed.store(true);
}
void on_subscribe_failure(void* context, MQTTAsync_failureData* f) {
  of(context)->fail("subscribe failed: " + failure_text(f));
}
void on_subscribe_failure5(void* context, MQTTAsync_failureData5* f) {
  of(context)->fail("subscribe failed: " + failure_text(f));
}

void on_disconnected(void* context, MQTTAsync_successData*) {
  of(context)->disconnected.fetch_add(1);
}
void on_disconnected5(void* context, MQTTAsync_successData5*) {
  of(context)->disconnected.fetch_add(1);
}
void on_disconnect_failure(void* context, MQTTAsync_failureData*) {
  of(context)->disconnected.fetch_add(1);
}
void on_disconnect_failure5(void* context, MQTTAsync_failureData5*) {
  of(context)->disconnected.fetch_add(1);
}

// paho has no TCP_NODELAY option (it never calls setsockopt), so set it on the process's
// sockets connected to the broker; each cell runs in its own process, so they are ours.
int set_nodelay(std::uint16_t port) {
  int done = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  while (const dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == ::dirfd(dir)) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
        peer.sin_family != AF_INET || ntohs(peer.sin_port) != port ||
        peer.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
      continue;
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++done;
  }
  ::closedir(dir);
  return done;
}

// A paho handle, disconnected and destroyed on scope exit.
struct client {
  MQTTAsync h = nullptr;
  state* s = nullptr;
  ~client() {
    if (!h) return;
    if (MQTTAsync_isConnected(h)) {
      MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
      d.timeout = 0;  // do not wait for in-flight publishes: the run is over
      d.context = s;
      if (s->c->protocol == 5) {
        d.onSuccess5 = on_disconnected5;
        d.onFailure5 = on_disconnect_failure5;
      } else {
        d.onSuccess = on_disconnected;
        d.onFailure = on_disconnect_failure;
      }
      const int before = s->disconnected.load();
      if (MQTTAsync_disconnect(h, &d) == MQTTASYNC_SUCCESS) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (s->disconnected.load() == before && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    MQTTAsync_destroy(&h);
  }
};

bool make(client& cl, state& s, const char* role, bool subscriber) {
  const cell& c = *s.c;
  cl.s = &s;
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(c.port);
  const std::string id = client_id(role);
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = c.protocol == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
  co.sendWhileDisconnected = 0;
  int rc = MQTTAsync_createWithOptions(&cl.h, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE,
                                       nullptr, &co);
  if (rc != MQTTASYNC_SUCCESS) {
    cl.h = nullptr;
    s.fail("MQTTAsync_create: " + error_text(rc));
    return false;
  }
  rc = MQTTAsync_setCallbacks(cl.h, &s, on_connection_lost, subscriber ? on_message : discard,
                              nullptr);
  if (rc != MQTTASYNC_SUCCESS) {
    s.fail("MQTTAsync_setCallbacks: " + error_text(rc));
    return false;
  }
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  if (c.protocol == 5) {
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    o = o5;
    o.cleanstart = 1;
    o.onSuccess5 = on_connect5;
    o.onFailure5 = on_connect_failure5;
  } else {
    o.cleansession = 1;
    o.onSuccess = on_connect;
    o.onFailure = on_connect_failure;
  }
  o.MQTTVersion = co.MQTTVersion;
  o.keepAliveInterval = 60;
  o.maxInflight = static_cast<int>(c.window);
  o.context = &s;
  rc = MQTTAsync_connect(cl.h, &o);
  if (rc != MQTTASYNC_SUCCESS) {
    s.fail("MQTTAsync_connect: " + error_text(rc));
    return false;
  }
  return true;
}

template <class Pred>
bool await(state& s, Pred done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (s.failed.load() || s.ctl->stopping()) return false;
    if (std::chrono::steady_clock::now() > deadline) {
      s.fail(std::string(what) + " timed out");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void run(state& s, client* clients, std::size_t n) {
  const cell& c = *s.c;
  control& ctl = *s.ctl;
  if (!await(
          s, [&] { return s.connected.load() == static_cast<int>(n); }, "connect"))
    return;
  if (set_nodelay(c.port) < static_cast<int>(n))
    return s.fail("could not set TCP_NODELAY on paho's sockets");
  if (n == 2) {
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = &s;
    if (c.protocol == 5) {
      ro.onSuccess5 = on_subscribe5;
      ro.onFailure5 = on_subscribe_failure5;
    } else {
      ro.onSuccess = on_subscribe;
      ro.onFailure = on_subscribe_failure;
    }
    const int rc = MQTTAsync_subscribe(clients[1].h, c.topic.c_str(), c.qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) return s.fail("MQTTAsync_subscribe: " + error_text(rc));
    if (!await(
            s, [&] { return s.subscribed.load(); }, "subscribe"))
      return;
  }
  ctl.ready();

  // Fill the first window; the callbacks keep it full from here on.
  s.started.store(true);
  pump(s);
  while (!ctl.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace

void run_paho(const cell& c, control& ctl) {
  state s;
  s.c = &c;
  s.ctl = &ctl;
  s.payload.assign(c.payload, 'x');
  const std::size_t n = c.flow == flow::publish_subscribe ? 2 : 1;
  client clients[2];
  bool ok = make(clients[0], s, "pub", false);
  s.pub = clients[0].h;
  if (ok && n == 2) ok = make(clients[1], s, "sub", true);
  if (ok) run(s, clients, n);
}

}  // namespace tern::bench

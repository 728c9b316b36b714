// End-to-end smoke test of tern::client against a real mosquitto on 127.0.0.1 (started and
// stopped by tests/support/mosquitto.hpp): round trips at QoS 0/1/2 for 3.1.1 and 5.0,
// loop_start with four publishing threads, publishing from inside a callback, the manual
// (user event loop) API driven by this test's own poll(), reconnecting after the broker is
// killed and restarted, and the one-shot helpers. The full integration suite lives in
// tests/integration/.
#include <doctest/doctest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/mosquitto.hpp"
#include "tern/client.hpp"
#include "tern/oneshot.hpp"

namespace {

using namespace std::chrono_literals;
using tern::client;
using tern::client_options;
using tern::owned_message;
using tern::protocol_version;
using tern::qos;
using tern::reason_code;
using tern::test::mosquitto;

constexpr const char* loopback = "127.0.0.1";

// What the callbacks of one client reported, guarded by a mutex; wait() blocks until a
// condition on it holds.
struct recorder {
  std::mutex mu;
  std::condition_variable cv;
  int connects = 0;
  int disconnects = 0;
  bool connected = false;
  std::vector<owned_message> messages;
  std::vector<std::uint16_t> subacks;
  std::vector<reason_code> granted;
  std::vector<reason_code> refusals;

  void attach(client& c) {
    c.on_connect = [this](client&, tern::connect_flags, reason_code rc, const tern::properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      if (tern::is_failure(rc)) {
        refusals.push_back(rc);
      } else {
        connected = true;
        ++connects;
      }
      cv.notify_all();
    };
    c.on_disconnect = [this](client&, tern::disconnect_flags, reason_code,
                             const tern::properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      connected = false;
      ++disconnects;
      cv.notify_all();
    };
    c.on_message = [this](client&, const tern::publish& m) {
      const std::lock_guard<std::mutex> lock(mu);
      messages.push_back(owned_message::from(m));
      cv.notify_all();
    };
    c.on_subscribe = [this](client&, std::uint16_t id, const tern::reason_code_list& codes,
                            const tern::properties&) {
      const std::lock_guard<std::mutex> lock(mu);
      subacks.push_back(id);
      for (const reason_code rc : codes) granted.push_back(rc);
      cv.notify_all();
    };
  }

  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
  std::size_t message_count() {
    const std::lock_guard<std::mutex> lock(mu);
    return messages.size();
  }
};

std::string name_of(protocol_version v) { return v == protocol_version::v5 ? "v5" : "v311"; }

}  // namespace

TEST_CASE("client smoke: QoS 0/1/2 round trips through mosquitto, MQTT 3.1.1 and 5.0") {
  mosquitto broker;
  REQUIRE(broker.start());
  for (const protocol_version v : {protocol_version::v3_1_1, protocol_version::v5}) {
    CAPTURE(name_of(v));
    const std::string base = "smoke/roundtrip/" + name_of(v);
    client c(client_options{"tern-smoke-" + name_of(v), v});
    recorder r;
    r.attach(c);
    REQUIRE_FALSE(c.connect(loopback, broker.port(), 10s));
    REQUIRE_FALSE(c.loop_start());
    REQUIRE(r.wait([&] { return r.connects == 1; }));
    CHECK(c.is_connected());

    const auto [sub_ec, sub_id] = c.subscribe(base + "/#", qos::exactly_once);
    REQUIRE_FALSE(sub_ec);
    REQUIRE(r.wait([&] { return !r.subacks.empty(); }));
    CHECK(r.subacks.front() == sub_id);
    REQUIRE(r.granted.size() == 1);
    CHECK(r.granted.front() == reason_code::granted_qos_2);

    const std::string big(300 * 1024, 'x');  // several writes and reads
    std::vector<tern::message_info> infos;
    infos.push_back(c.publish(base + "/q0", "zero", qos::at_most_once));
    infos.push_back(c.publish(base + "/q1", "one", qos::at_least_once));
    tern::property_list props;
    if (v == protocol_version::v5)
      props.add(tern::property_id::content_type, "text/plain").add_user("k", "v");
    infos.push_back(c.publish(base + "/q2", "two", qos::exactly_once, false, props));
    infos.push_back(c.publish(base + "/big", big, qos::at_least_once));
    infos.push_back(c.publish(base + "/empty", std::string_view(), qos::at_least_once));
    for (const auto& info : infos) {
      CHECK_FALSE(info.rc());
      CHECK(info.wait_for_publish(5s));
      CHECK(info.is_published());
    }
    REQUIRE(r.wait([&] { return r.messages.size() == infos.size(); }));
    std::unique_lock<std::mutex> lock(r.mu);
    auto find = [&](const std::string& t) -> const owned_message* {
      for (const auto& m : r.messages)
        if (m.topic == t) return &m;
      return nullptr;
    };
    const owned_message* m0 = find(base + "/q0");
    const owned_message* m1 = find(base + "/q1");
    const owned_message* m2 = find(base + "/q2");
    const owned_message* mb = find(base + "/big");
    const owned_message* me = find(base + "/empty");
    REQUIRE((m0 && m1 && m2 && mb && me));
    CHECK(m0->payload_text() == "zero");
    CHECK(m0->q == qos::at_most_once);
    CHECK(m1->payload_text() == "one");
    CHECK(m1->q == qos::at_least_once);
    CHECK(m2->payload_text() == "two");
    CHECK(m2->q == qos::exactly_once);
    CHECK(mb->payload_text() == big);
    CHECK(me->payload.empty());
    if (v == protocol_version::v5) {
      CHECK(m2->content_type == std::optional<std::string>("text/plain"));
      REQUIRE(m2->user_properties.size() == 1);
      CHECK(m2->user_properties.front() == std::pair<std::string, std::string>("k", "v"));
    }
    lock.unlock();
    // Publishing from this thread wakes the loop thread at once (no waiting for its poll
    // timeout): twenty sequential round trips take milliseconds.
    const auto start = std::chrono::steady_clock::now();
    int quick = 0;
    for (int i = 0; i < 20; ++i)
      quick += c.publish(base + "/seq", "s", qos::at_least_once).wait_for_publish(5s) ? 1 : 0;
    CHECK(quick == 20);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    CHECK_FALSE(c.disconnect());
    CHECK_FALSE(c.loop_stop());
    lock.lock();
    CHECK(r.disconnects == 1);
    CHECK_FALSE(c.is_connected());
  }
}

TEST_CASE("client smoke: loop_start with four threads publishing at once") {
  mosquitto broker;
  REQUIRE(broker.start());
  client sub(client_options{"tern-smoke-sub"});
  recorder rs;
  rs.attach(sub);
  REQUIRE_FALSE(sub.connect(loopback, broker.port()));
  REQUIRE_FALSE(sub.loop_start());
  REQUIRE(rs.wait([&] { return rs.connects == 1; }));
  REQUIRE_FALSE(sub.subscribe("smoke/threads/#", qos::at_least_once).first);
  REQUIRE(rs.wait([&] { return !rs.subacks.empty(); }));

  client pub(client_options{"tern-smoke-pub"});
  REQUIRE_FALSE(pub.connect(loopback, broker.port()));
  REQUIRE_FALSE(pub.loop_start());
  constexpr int threads = 4;
  constexpr int per_thread = 250;
  std::vector<std::vector<tern::message_info>> infos(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const qos q = i % 3 == 0 ? qos::at_most_once : qos::at_least_once;
        infos[static_cast<std::size_t>(t)].push_back(pub.publish(
            "smoke/threads/" + std::to_string(t), std::to_string(t) + ":" + std::to_string(i), q));
      }
    });
  }
  for (auto& w : workers) w.join();
  int published = 0;
  for (const auto& list : infos)
    for (const auto& info : list) published += info.wait_for_publish(10s) ? 1 : 0;
  CHECK(published == threads * per_thread);
  REQUIRE(rs.wait([&] { return rs.messages.size() == threads * per_thread; }, 10s));
  {
    // Each thread's messages of one QoS arrive in the order it published them. (The client
    // sends in publish order; the broker may deliver QoS 0 ahead of QoS 1 it holds back.)
    const std::lock_guard<std::mutex> lock(rs.mu);
    std::vector<int> next(threads * 2, 0);
    std::set<std::string> unique;
    bool ordered = true;
    for (const auto& m : rs.messages) {
      const std::string text(m.payload_text());
      unique.insert(text);
      const auto colon = text.find(':');
      const int t = std::stoi(text.substr(0, colon));
      const int i = std::stoi(text.substr(colon + 1));
      const auto slot = static_cast<std::size_t>(t * 2 + (i % 3 == 0 ? 0 : 1));
      if (i < next[slot]) ordered = false;
      next[slot] = i + 1;
    }
    CHECK(unique.size() == threads * per_thread);
    CHECK(ordered);
  }
  CHECK_FALSE(pub.disconnect());
  CHECK_FALSE(pub.loop_stop());
  CHECK_FALSE(sub.disconnect());
  CHECK_FALSE(sub.loop_stop());
}

TEST_CASE("client smoke: callbacks publish, subscribe and disconnect without deadlock") {
  mosquitto broker;
  REQUIRE(broker.start());
  client c(client_options{"tern-smoke-echo"});
  std::atomic<int> pongs{0};
  std::atomic<bool> waited_in_callback_returned{false};
  std::chrono::milliseconds wait_took{0};
  // Subscribing before CONNACK: the client sends it once connected.
  c.on_subscribe = [&](client& self, std::uint16_t, const tern::reason_code_list&,
                       const tern::properties&) {
    self.publish("smoke/echo/ping", "ping", qos::at_least_once);
  };
  c.message_callback_add("smoke/echo/ping", [&](client& self, const tern::publish& m) {
    CHECK(tern::as_chars(m.payload) == "ping");
    const auto info = self.publish("smoke/echo/pong", "pong", qos::exactly_once);
    // Inside a callback this must not block (the loop that completes it is this thread).
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(info.wait_for_publish(5s));
    wait_took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    waited_in_callback_returned = true;
  });
  c.on_message = [&](client& self, const tern::publish& m) {
    if (m.topic == "smoke/echo/pong") {
      ++pongs;
      CHECK_FALSE(self.disconnect());  // loop_forever returns once it is done
    }
  };
  // connect_async: the loop opens the connection; the subscription waits for CONNACK.
  REQUIRE_FALSE(c.connect_async(loopback, broker.port()));
  const auto [ec, id] = c.subscribe("smoke/echo/#", qos::at_least_once);
  REQUIRE_FALSE(ec);
  CHECK(id != 0);
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 500 && !finished; ++i) std::this_thread::sleep_for(10ms);
    if (!finished) (void)c.disconnect();
  });
  const auto rc = c.loop_forever(100ms);
  finished = true;
  watchdog.join();
  CHECK_FALSE(rc);
  CHECK(pongs == 1);
  CHECK(waited_in_callback_returned);
  CHECK(wait_took < 1000ms);
  CHECK_FALSE(c.is_connected());
}

TEST_CASE("client smoke: manual mode driven by the test's own poll()") {
  mosquitto broker;
  REQUIRE(broker.start());
  client c(client_options{"tern-smoke-manual", protocol_version::v3_1_1});
  recorder r;
  r.attach(c);
  int opened_fd = -1;
  int closed_fd = -1;
  int registers = 0;
  int unregisters = 0;
  bool write_watched = false;
  c.on_socket_open = [&](client&, int fd) { opened_fd = fd; };
  c.on_socket_close = [&](client&, int fd) { closed_fd = fd; };
  c.on_socket_register_write = [&](client&, int) {
    ++registers;
    write_watched = true;
  };
  c.on_socket_unregister_write = [&](client&, int) {
    ++unregisters;
    write_watched = false;
  };
  REQUIRE_FALSE(c.connect_url("mqtt://127.0.0.1:" + std::to_string(broker.port()), 30s));
  const int fd = c.socket();
  REQUIRE(fd >= 0);
  CHECK(opened_fd == fd);

  enum class phase { connecting, subscribing, receiving, closing, done } at = phase::connecting;
  tern::message_info sent;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (at != phase::done && std::chrono::steady_clock::now() < until) {
    const int sock = c.socket();
    if (sock < 0) {
      at = at == phase::closing ? phase::done : at;
      break;
    }
    pollfd p{sock, static_cast<short>(POLLIN | (c.want_write() ? POLLOUT : 0)), 0};
    int wait = 100;
    if (const auto t = c.next_timeout()) wait = static_cast<int>(std::min<long>(t->count(), 100));
    REQUIRE(::poll(&p, 1, wait) >= 0);
    if ((p.revents & (POLLIN | POLLERR | POLLHUP)) != 0) (void)c.loop_read();
    if ((p.revents & POLLOUT) != 0) (void)c.loop_write();
    (void)c.loop_misc();
    // The user's loop watches for writability exactly while the client wants it.
    if (c.socket() >= 0) CHECK(write_watched == c.want_write());
    switch (at) {
      case phase::connecting:
        if (r.connects == 1) {
          REQUIRE_FALSE(c.subscribe("smoke/manual", qos::exactly_once).first);
          at = phase::subscribing;
        }
        break;
      case phase::subscribing:
        if (!r.subacks.empty()) {
          sent = c.publish("smoke/manual", "by hand", qos::exactly_once);
          at = phase::receiving;
        }
        break;
      case phase::receiving:
        if (r.messages.size() == 1 && sent.is_published()) {
          CHECK_FALSE(c.disconnect());
          at = phase::closing;
        }
        break;
      case phase::closing:
      case phase::done: break;
    }
  }
  CHECK(at == phase::done);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages.front().payload_text() == "by hand");
  CHECK(registers >= 1);
  CHECK(closed_fd == fd);
  CHECK(c.socket() == -1);
  CHECK(r.disconnects == 1);
}

TEST_CASE("client smoke: reconnects after the broker is killed and restarted") {
  mosquitto broker;
  REQUIRE(broker.start());
  client c(client_options{"tern-smoke-reconnect"});
  c.reconnect_delay_set(50ms, 200ms);
  recorder r;
  r.attach(c);
  auto on_connect = c.on_connect;
  c.on_connect = [&](client& self, tern::connect_flags f, reason_code rc,
                     const tern::properties& p) {
    on_connect(self, f, rc, p);
    self.subscribe("smoke/reconnect", qos::at_least_once);  // paho style: subscribe on connect
  };
  std::atomic<int> failed_attempts{0};
  c.on_connect_fail = [&](client&, reason_code) { ++failed_attempts; };
  REQUIRE_FALSE(c.connect(loopback, broker.port()));
  REQUIRE_FALSE(c.loop_start());
  REQUIRE(r.wait([&] { return r.subacks.size() == 1; }));

  broker.kill();
  REQUIRE(r.wait([&] { return r.disconnects == 1; }));
  CHECK_FALSE(c.is_connected());
  std::this_thread::sleep_for(300ms);  // attempts fail while the broker is down
  CHECK(failed_attempts > 0);
  REQUIRE(broker.start());
  REQUIRE(r.wait([&] { return r.connects == 2 && r.subacks.size() == 2; }, 10s));
  CHECK(c.publish("smoke/reconnect", "again", qos::at_least_once).wait_for_publish(5s));
  REQUIRE(r.wait([&] { return r.messages.size() == 1; }));
  CHECK(r.messages.front().payload_text() == "again");

  // loop_stop() without disconnect() stops the thread and keeps the connection; a new
  // loop_start() carries on with it.
  CHECK_FALSE(c.loop_stop());
  CHECK(c.is_connected());
  CHECK_FALSE(c.loop_start());
  CHECK(c.publish("smoke/reconnect", "still here", qos::at_least_once).wait_for_publish(5s));
  CHECK_FALSE(c.disconnect());
  CHECK_FALSE(c.loop_stop());
}

TEST_CASE("client smoke: publish_single, publish_multiple and subscribe_simple") {
  mosquitto broker;
  REQUIRE(broker.start());
  tern::oneshot_options o;
  o.host = loopback;
  o.port = broker.port();
  o.timeout = 5s;

  CHECK_FALSE(tern::publish_single("smoke/oneshot/retained", "kept", qos::at_least_once, true, o));
  std::vector<owned_message> out;
  CHECK_FALSE(
      tern::subscribe_simple({"smoke/oneshot/retained"}, qos::at_least_once, 1, true, out, o));
  REQUIRE(out.size() == 1);
  CHECK(out.front().payload_text() == "kept");
  CHECK(out.front().retain);

  // retained = false skips the retained message and waits for live ones.
  std::vector<owned_message> live;
  std::error_code live_ec;
  std::atomic<bool> done{false};
  std::thread subscriber([&] {
    live_ec = tern::subscribe_simple({"smoke/oneshot/#"}, qos::at_least_once, 2, false, live, o);
    done = true;
  });
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done && std::chrono::steady_clock::now() < until) {
    CHECK_FALSE(tern::publish_multiple({{"smoke/oneshot/live", "a", qos::at_least_once, false},
                                        {"smoke/oneshot/live", "b", qos::exactly_once, false}},
                                       o));
    std::this_thread::sleep_for(20ms);
  }
  subscriber.join();
  CHECK_FALSE(live_ec);
  REQUIRE(live.size() == 2);
  for (const auto& m : live) {
    CHECK_FALSE(m.retain);
    CHECK(m.topic == "smoke/oneshot/live");
  }

  // A refused connection is an error carrying the broker's reason code.
  mosquitto closed("allow_anonymous false");
  REQUIRE(closed.start());
  tern::oneshot_options refused = o;
  refused.port = closed.port();
  for (const protocol_version v : {protocol_version::v3_1_1, protocol_version::v5}) {
    CAPTURE(name_of(v));
    refused.version = v;
    const std::error_code ec =
        tern::publish_single("smoke/x", "y", qos::at_most_once, false, refused);
    CHECK(ec.category() == tern::reason_category());
    CHECK(ec == reason_code::not_authorized);
  }
}

TEST_CASE("property_list: copies own their strings") {
  auto copy = [] {
    tern::property_list original;
    original.add(tern::property_id::content_type, "text/plain")
        .add(tern::property_id::message_expiry_interval, 60)
        .add_binary(tern::property_id::correlation_data, tern::as_bytes(std::string_view("id-7")))
        .add_user("unit", "C");
    tern::property_list copied(original);
    tern::property_list assigned;
    assigned.add_user("old", "x");
    assigned = original;
    original.add_user("later", "y");  // the copies do not see later changes
    return std::pair{copied, assigned};
  }();  // `original` is gone: views into it would dangle
  for (const tern::property_list* list : {&copy.first, &copy.second}) {
    const tern::properties p = list->view();
    CHECK(p.text(tern::property_id::content_type) == "text/plain");
    std::vector<std::pair<std::string, std::string>> users;
    std::string correlation;
    std::uint32_t expiry = 0;
    for (const tern::property q : p) {
      if (q.id == tern::property_id::user_property) users.emplace_back(q.text, q.value);
      if (q.id == tern::property_id::correlation_data) correlation = std::string(q.text);
      if (q.id == tern::property_id::message_expiry_interval) expiry = q.number;
    }
    CHECK(users == std::vector<std::pair<std::string, std::string>>{{"unit", "C"}});
    CHECK(correlation == "id-7");
    CHECK(expiry == 60);
  }
}

// Sessions across connections, against a real mosquitto, MQTT 3.1.1 and 5.0:
//   * a persistent session (clean start off; 5.0 Session Expiry) is resumed after the
//     subscriber reconnects, and what was published meanwhile at QoS 1 and 2 arrives, QoS 2
//     exactly once;
//   * QoS 2 stays exactly-once while the subscriber's connection is cut again and again
//     mid-stream (the broker retransmits PUBLISH with DUP and PUBREL; nothing is delivered
//     twice, nothing is lost);
//   * loop_start clients reconnect by themselves after the broker is killed (SIGKILL) and
//     restarted on the same port, and QoS 1 messages published during the outage arrive —
//     with the subscriber's session saved by the broker before the crash (persistence; SIGUSR1),
//     and with a broker that lost everything, where auto_resubscribe replays the subscription
//     before the messages queued during the outage.
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/fixture.hpp"

namespace {

using namespace tern;
using namespace tern::it;

bool has(recorder& r, const std::string& topic) {
  for (const auto& m : r.messages)
    if (m.topic == topic) return true;
  return false;
}

// How often each payload arrived on topics starting with `prefix`.
std::map<std::string, int> tally(recorder& r, const std::string& prefix) {
  const std::lock_guard<std::mutex> lock(r.mu);
  std::map<std::string, int> counts;
  for (const auto& m : r.messages)
    if (m.topic.rfind(prefix, 0) == 0) ++counts[std::string(m.payload_text())];
  return counts;
}

}  // namespace

TEST_CASE("persistent session: what was published while the subscriber was away arrives") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  const std::string id = "it-persistent-" + tag_of(v);
  client_options so{id, v};
  so.clean_start = clean_start_policy::never;  // 3.1.1 clean session 0; 5.0 Clean Start 0
  client sub(so);
  if (v == protocol_version::v5) sub.session_options().session_expiry_interval = 600;
  recorder rs;
  rs.attach(sub);
  connect_and_start(sub, rs, b.port());
  CHECK(subscribe_and_wait(sub, rs, "away/#", qos::exactly_once) == reason_code::granted_qos_2);
  disconnect_and_stop(sub);
  REQUIRE(rs.wait([&] { return rs.disconnects == 1; }));

  client pub(client_options{"it-persistent-pub-" + tag_of(v), v});
  recorder rp;
  rp.attach(pub);
  connect_and_start(pub, rp, b.port());
  constexpr int per_qos = 10;
  std::vector<message_info> infos;
  for (int i = 0; i < per_qos; ++i) {
    infos.push_back(pub.publish("away/q1", "q1-" + std::to_string(i), qos::at_least_once));
    infos.push_back(pub.publish("away/q2", "q2-" + std::to_string(i), qos::exactly_once));
  }
  for (const auto& info : infos) CHECK(info.wait_for_publish(patience));

  // The same client connects again: the broker still has the session and its queue.
  connect_and_start(sub, rs, b.port());
  {
    const std::lock_guard<std::mutex> lock(rs.mu);
    CHECK(rs.session_present);
  }
  REQUIRE_MESSAGE(rs.wait([&] { return rs.messages.size() >= 2 * per_qos; }),
                  "received " << rs.message_count() << " of " << 2 * per_qos);
  // Anything that would arrive twice arrives before a message published after all of them.
  CHECK(pub.publish("away/sentinel", "end", qos::exactly_once).wait_for_publish(patience));
  REQUIRE(rs.wait([&] { return has(rs, "away/sentinel"); }));
  const auto q1 = tally(rs, "away/q1");
  const auto q2 = tally(rs, "away/q2");
  CHECK(q1.size() == per_qos);  // every QoS 1 message at least once
  CHECK(q2.size() == per_qos);
  for (const auto& entry : q2) {
    CAPTURE(entry.first);
    CHECK(entry.second == 1);  // QoS 2: exactly once
  }
  {
    // Queued messages keep their order and QoS.
    const std::lock_guard<std::mutex> lock(rs.mu);
    int next_q1 = 0;
    int next_q2 = 0;
    for (const auto& m : rs.messages) {
      if (m.topic == "away/q1") {
        CHECK(m.q == qos::at_least_once);
        CHECK(m.payload_text() == "q1-" + std::to_string(next_q1++));
      } else if (m.topic == "away/q2") {
        CHECK(m.q == qos::exactly_once);
        CHECK(m.payload_text() == "q2-" + std::to_string(next_q2++));
      }
    }
  }
  disconnect_and_stop(sub);

  // A clean start ends the session: nothing is present any more.
  client_options fresh_options{id, v};
  fresh_options.clean_start = clean_start_policy::always;
  client fresh(fresh_options);
  recorder rf;
  rf.attach(fresh);
  connect_and_start(fresh, rf, b.port());
  {
    const std::lock_guard<std::mutex> lock(rf.mu);
    CHECK_FALSE(rf.session_present);
  }
  disconnect_and_stop(fresh);
  disconnect_and_stop(pub);
}

TEST_CASE("persistent session: QoS 2 exactly once while the subscriber's connection keeps breaking") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  // A session that outlives its connections: in 3.1.1 only a connection with clean session 0
  // creates one, in 5.0 a Session Expiry Interval above 0 keeps it.
  client_options so{"it-exactly-once-" + tag_of(v), v};
  so.clean_start = clean_start_policy::never;
  client sub(so);
  if (v == protocol_version::v5) sub.session_options().session_expiry_interval = 600;
  sub.reconnect_delay_set(10ms, 40ms);
  recorder rs;
  rs.attach(sub);
  connect_and_start(sub, rs, b.port(), loopback, 5s);
  CHECK(subscribe_and_wait(sub, rs, "once/#", qos::exactly_once) == reason_code::granted_qos_2);

  client pub(client_options{"it-exactly-once-pub-" + tag_of(v), v});
  recorder rp;
  rp.attach(pub);
  connect_and_start(pub, rp, b.port());

  constexpr int total = 400;
  std::atomic<bool> publishing{true};
  std::vector<message_info> infos(total);
  std::thread publisher([&] {
    for (int i = 0; i < total; ++i) {
      infos[static_cast<std::size_t>(i)] =
          pub.publish("once/" + std::to_string(i % 4), std::to_string(i), qos::exactly_once);
      if (i % 2 == 0) std::this_thread::sleep_for(2ms);
    }
    publishing = false;
  });
  // Cut the subscriber's connection several times while messages stream in, each time once
  // it has reconnected (and received something more).
  int cuts = 0;
  for (int round = 0; round < 8 && publishing; ++round) {
    std::size_t before = rs.message_count();
    if (!rs.wait([&] { return rs.connected && rs.messages.size() > before; }, patience)) break;
    const int fd = sub.socket();
    if (fd >= 0 && ::shutdown(fd, SHUT_RDWR) == 0) ++cuts;
    std::this_thread::sleep_for(15ms);
  }
  publisher.join();
  CHECK(cuts >= 3);
  for (const auto& info : infos) CHECK(info.wait_for_publish(patience));
  REQUIRE_MESSAGE(rs.wait([&] {
    std::set<std::string> unique;
    for (const auto& m : rs.messages) unique.insert(std::string(m.payload_text()));
    return unique.size() >= total;
  }),
                  "received " << tally(rs, "once/").size() << " distinct of " << total);
  CHECK(subscribe_and_wait(sub, rs, "once-sentinel", qos::exactly_once) == reason_code::granted_qos_2);
  CHECK(pub.publish("once-sentinel", "end", qos::exactly_once).wait_for_publish(patience));
  REQUIRE(rs.wait([&] { return has(rs, "once-sentinel"); }));
  const auto counts = tally(rs, "once/");
  CHECK(counts.size() == total);
  int duplicates = 0;
  for (const auto& entry : counts) duplicates += entry.second - 1;
  CHECK_MESSAGE(duplicates == 0, duplicates << " QoS 2 messages were delivered more than once ("
                                            << cuts << " cuts)");
  {
    const std::lock_guard<std::mutex> lock(rs.mu);
    CHECK(rs.connects >= 1 + cuts);  // reconnected after every cut, by itself
  }
  disconnect_and_stop(sub);
  disconnect_and_stop(pub);
}

TEST_CASE("reconnect: after the broker is killed and restarted, QoS 1 sent during the outage arrives") {
  TERN_FOR_EACH_VERSION(v);
  broker_options bo;
  bo.persistence = true;  // the subscriber's session survives the crash (saved before it)
  broker b(bo);
  b.start();

  client_options so{"it-restart-sub-" + tag_of(v), v};
  so.clean_start = clean_start_policy::never;
  client sub(so);
  if (v == protocol_version::v5) sub.session_options().session_expiry_interval = 600;
  sub.reconnect_delay_set(20ms, 100ms);
  recorder rs;
  rs.attach(sub);
  connect_and_start(sub, rs, b.port(), loopback, 5s);
  CHECK(subscribe_and_wait(sub, rs, "outage/#", qos::at_least_once) == reason_code::granted_qos_1);

  client pub(client_options{"it-restart-pub-" + tag_of(v), v});
  pub.reconnect_delay_set(20ms, 100ms);
  recorder rp;
  rp.attach(pub);
  connect_and_start(pub, rp, b.port(), loopback, 5s);
  CHECK(pub.publish("outage/before", "before", qos::at_least_once).wait_for_publish(patience));
  REQUIRE(rs.wait([&] { return has(rs, "outage/before"); }));

  b.save();  // what a broker with persistence has on disk when it crashes
  b.kill();
  REQUIRE(rp.wait([&] { return rp.disconnects >= 1; }));
  REQUIRE(rs.wait([&] { return rs.disconnects >= 1; }));
  CHECK_FALSE(pub.is_connected());

  // Published while the broker is down: queued by the client, sent once it is back.
  constexpr int during = 25;
  std::vector<message_info> infos;
  for (int i = 0; i < during; ++i) {
    infos.push_back(pub.publish("outage/during", std::to_string(i), qos::at_least_once));
    CHECK_FALSE(infos.back().rc());
  }
  std::this_thread::sleep_for(200ms);  // a few failed reconnection attempts meanwhile
  for (const auto& info : infos) CHECK_FALSE(info.is_published());

  b.start();  // the same port
  REQUIRE_MESSAGE(rp.wait([&] { return rp.connects >= 2; }),
                  "the publisher did not reconnect by itself\n" << rp.all_logs());
  REQUIRE_MESSAGE(rs.wait([&] { return rs.connects >= 2; }),
                  "the subscriber did not reconnect by itself\n" << rs.all_logs());
  {
    const std::lock_guard<std::mutex> lock(rs.mu);
    CHECK(rs.session_present);  // the broker restored the saved session
  }
  for (const auto& info : infos) CHECK(info.wait_for_publish(patience));
  REQUIRE_MESSAGE(rs.wait([&] { return rs.messages.size() >= 1 + during; }),
                  "received " << rs.message_count() - 1 << " of " << during
                              << " messages published during the outage");
  const auto counts = tally(rs, "outage/during");
  CHECK(counts.size() == during);
  {
    // In order, each at least once.
    const std::lock_guard<std::mutex> lock(rs.mu);
    int next = 0;
    for (const auto& m : rs.messages) {
      if (m.topic != "outage/during") continue;
      const int i = std::stoi(std::string(m.payload_text()));
      if (i == next) ++next;
    }
    CHECK(next == during);
  }
  // Both keep working on the new broker process.
  CHECK(pub.publish("outage/after", "after", qos::exactly_once).wait_for_publish(patience));
  REQUIRE(rs.wait([&] { return has(rs, "outage/after"); }));
  disconnect_and_stop(pub);
  disconnect_and_stop(sub);
}

TEST_CASE("reconnect: a broker that lost everything; auto_resubscribe replays the subscription first") {
  TERN_FOR_EACH_VERSION(v);
  broker b;  // no persistence: the restarted broker knows nobody
  b.start();
  // One client that subscribes to what it publishes. After the crash the broker has no
  // session: the client replays its subscription (session_options().auto_resubscribe) before
  // the messages it queued during the outage, so they come back to it.
  client c(client_options{"it-restart-alone-" + tag_of(v), v});
  c.session_options().auto_resubscribe = true;
  c.reconnect_delay_set(20ms, 100ms);
  recorder r;
  r.attach(c);
  connect_and_start(c, r, b.port(), loopback, 5s);
  CHECK(subscribe_and_wait(c, r, "alone/#", qos::at_least_once) == reason_code::granted_qos_1);

  b.kill();
  REQUIRE(r.wait([&] { return r.disconnects == 1; }));
  constexpr int during = 10;
  std::vector<message_info> infos;
  for (int i = 0; i < during; ++i)
    infos.push_back(c.publish("alone/during", std::to_string(i), qos::at_least_once));
  b.start();
  REQUIRE_MESSAGE(r.wait([&] { return r.connects == 2; }), r.all_logs());
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    CHECK_FALSE(r.session_present);
  }
  for (const auto& info : infos) CHECK(info.wait_for_publish(patience));
  REQUIRE_MESSAGE(r.wait([&] { return r.messages.size() >= during; }),
                  "received " << r.message_count() << " of " << during
                              << ": was the subscription replayed before the queued messages?");
  CHECK(tally(r, "alone/during").size() == during);
  {
    const std::lock_guard<std::mutex> lock(r.mu);
    CHECK(r.subacks.size() == 1);  // the replayed SUBSCRIBE is not reported to on_subscribe
  }
  disconnect_and_stop(c);
}

// Publish/subscribe round trips through a real mosquitto, MQTT 3.1.1 and 5.0: every QoS with
// payloads of 0 B, 1 B, 64 KiB and 1 MiB arrive byte for byte; 5.0 message properties survive;
// retained messages are kept, delivered on subscribe with the retain flag, and cleared.
#include <map>
#include <string>
#include <vector>

#include "integration/fixture.hpp"

using namespace tern;
using namespace tern::it;

TEST_CASE("round trip: QoS 0/1/2 with 0 B, 1 B, 64 KiB and 1 MiB payloads, bytes identical") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();

  client sub(client_options{"it-rt-sub-" + tag_of(v), v});
  recorder rs;
  rs.attach(sub);
  connect_and_start(sub, rs, b.port());
  CHECK(subscribe_and_wait(sub, rs, "rt/#", qos::exactly_once) == reason_code::granted_qos_2);

  client pub(client_options{"it-rt-pub-" + tag_of(v), v});
  recorder rp;
  rp.attach(pub);
  connect_and_start(pub, rp, b.port());

  struct sent {
    std::string topic;
    std::vector<std::byte> payload;
    qos q;
  };
  std::vector<sent> all;
  std::uint64_t seed = 1;
  for (const qos q : {qos::at_most_once, qos::at_least_once, qos::exactly_once}) {
    for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{64} * 1024,
                                   std::size_t{1024} * 1024}) {
      all.push_back({"rt/q" + std::to_string(static_cast<int>(q)) + "/" + std::to_string(size),
                     pattern_bytes(size, seed++), q});
    }
  }
  for (const auto& s : all) {
    CAPTURE(s.topic);
    const message_info info = pub.publish(s.topic, bytes_view(s.payload), s.q);
    REQUIRE_FALSE(info.rc());
    if (s.q != qos::at_most_once) CHECK(info.mid() != 0);
    CHECK(info.wait_for_publish(patience));
    CHECK(info.is_published());
    if (s.q != qos::at_most_once) CHECK(info.outcome() == publish_outcome::acknowledged);
  }
  REQUIRE_MESSAGE(rs.wait([&] { return rs.messages.size() >= all.size(); }),
                  "received " << rs.message_count() << " of " << all.size());
  // Nothing arrives twice: a sentinel published after everything else comes last.
  CHECK(pub.publish("rt/sentinel", "end", qos::exactly_once).wait_for_publish(patience));
  REQUIRE(rs.wait([&] {
    for (const auto& m : rs.messages)
      if (m.topic == "rt/sentinel") return true;
    return false;
  }));
  const std::lock_guard<std::mutex> lock(rs.mu);
  CHECK(rs.messages.size() == all.size() + 1);
  for (const auto& s : all) {
    CAPTURE(s.topic);
    int seen = 0;
    for (const auto& m : rs.messages) {
      if (m.topic != s.topic) continue;
      ++seen;
      CHECK(m.q == s.q);
      CHECK_FALSE(m.retain);
      CHECK_FALSE(m.dup);
      REQUIRE(m.payload.size() == s.payload.size());
      CHECK(m.payload == s.payload);
    }
    CHECK(seen == 1);
  }
}

TEST_CASE("round trip: the subscription's QoS caps the delivery QoS") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  client c(client_options{"it-rt-cap-" + tag_of(v), v});
  recorder r;
  r.attach(c);
  connect_and_start(c, r, b.port());
  CHECK(subscribe_and_wait(c, r, "cap/one", qos::at_least_once) == reason_code::granted_qos_1);
  CHECK(subscribe_and_wait(c, r, "cap/zero", qos::at_most_once) == reason_code::granted_qos_0);
  CHECK(c.publish("cap/one", "2→1", qos::exactly_once).wait_for_publish(patience));
  CHECK(c.publish("cap/zero", "2→0", qos::exactly_once).wait_for_publish(patience));
  REQUIRE(r.wait([&] { return r.messages.size() == 2; }));
  const auto one = r.messages_on("cap/one");
  const auto zero = r.messages_on("cap/zero");
  REQUIRE(one.size() == 1);
  REQUIRE(zero.size() == 1);
  CHECK(one.front().q == qos::at_least_once);
  CHECK(zero.front().q == qos::at_most_once);
  disconnect_and_stop(c);
}

TEST_CASE("round trip: MQTT 5.0 message properties arrive as sent") {
  broker b;
  b.start();
  client c(client_options{"it-rt-props", protocol_version::v5});
  recorder r;
  r.attach(c);
  connect_and_start(c, r, b.port());
  REQUIRE(subscribe_and_wait(c, r, "props/#", qos::exactly_once) == reason_code::granted_qos_2);

  const std::vector<std::byte> correlation = pattern_bytes(16, 99);
  property_list props;
  props.add(property_id::payload_format_indicator, 1)
      .add(property_id::message_expiry_interval, 3600)
      .add(property_id::content_type, "application/json")
      .add(property_id::response_topic, "props/reply")
      .add_binary(property_id::correlation_data, bytes_view(correlation))
      .add_user("first", "1")
      .add_user("second", "two words")
      .add_user("first", "again");  // names may repeat; order is kept
  CHECK(c.publish("props/full", R"({"a":1})", qos::exactly_once, false, props)
            .wait_for_publish(patience));
  REQUIRE(r.wait([&] { return !r.messages.empty(); }));
  const std::lock_guard<std::mutex> lock(r.mu);
  const owned_message& m = r.messages.front();
  CHECK(m.payload_text() == R"({"a":1})");
  CHECK(m.payload_format_indicator == std::optional<std::uint8_t>(1));
  REQUIRE(m.message_expiry_interval.has_value());
  CHECK(*m.message_expiry_interval <= 3600);
  CHECK(*m.message_expiry_interval >= 3590);
  CHECK(m.content_type == std::optional<std::string>("application/json"));
  CHECK(m.response_topic == std::optional<std::string>("props/reply"));
  CHECK(m.correlation_data == std::optional<std::vector<std::byte>>(correlation));
  const std::vector<std::pair<std::string, std::string>> users{
      {"first", "1"}, {"second", "two words"}, {"first", "again"}};
  CHECK(m.user_properties == users);
}

TEST_CASE("retained messages: kept, delivered on subscribe with the retain flag, cleared") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();
  client pub(client_options{"it-ret-pub-" + tag_of(v), v});
  recorder rp;
  rp.attach(pub);
  connect_and_start(pub, rp, b.port());

  // Set: two retained topics, one of them at QoS 2 and with a large payload.
  const std::vector<std::byte> large = pattern_bytes(100 * 1024, 7);
  CHECK(pub.publish("ret/a", "kept", qos::at_least_once, true).wait_for_publish(patience));
  CHECK(pub.publish("ret/b", bytes_view(large), qos::exactly_once, true).wait_for_publish(patience));

  // A subscriber that arrives later gets both, flagged retained, at min(publish, subscribe) QoS.
  client sub(client_options{"it-ret-sub-" + tag_of(v), v});
  recorder rs;
  rs.attach(sub);
  connect_and_start(sub, rs, b.port());
  CHECK(subscribe_and_wait(sub, rs, "ret/#", qos::exactly_once) == reason_code::granted_qos_2);
  REQUIRE(rs.wait([&] { return rs.messages.size() == 2; }));
  {
    const auto a = rs.messages_on("ret/a");
    const auto bb = rs.messages_on("ret/b");
    REQUIRE(a.size() == 1);
    REQUIRE(bb.size() == 1);
    CHECK(a.front().retain);
    CHECK(a.front().payload_text() == "kept");
    CHECK(a.front().q == qos::at_least_once);
    CHECK(bb.front().retain);
    CHECK(bb.front().payload == large);
    CHECK(bb.front().q == qos::exactly_once);
  }

  // A retained publish to a subscriber that is already there is a live message: retain 0
  // [MQTT-3.3.1-9] (5.0: Retain As Published is off by default).
  CHECK(pub.publish("ret/a", "replaced", qos::at_least_once, true).wait_for_publish(patience));
  REQUIRE(rs.wait([&] { return rs.messages.size() == 3; }));
  {
    const std::lock_guard<std::mutex> lock(rs.mu);
    CHECK(rs.messages.back().topic == "ret/a");
    CHECK(rs.messages.back().payload_text() == "replaced");
    CHECK_FALSE(rs.messages.back().retain);
  }

  // Clear ret/a with an empty retained message; ret/b stays.
  CHECK(pub.publish("ret/a", std::string_view(), qos::at_least_once, true).wait_for_publish(patience));
  REQUIRE(rs.wait([&] { return rs.messages.size() == 4; }));  // live: the empty message itself
  {
    const std::lock_guard<std::mutex> lock(rs.mu);
    CHECK(rs.messages.back().topic == "ret/a");
    CHECK(rs.messages.back().payload.empty());
  }

  client late(client_options{"it-ret-late-" + tag_of(v), v});
  recorder rl;
  rl.attach(late);
  connect_and_start(late, rl, b.port());
  CHECK(subscribe_and_wait(late, rl, "ret/#", qos::at_least_once) == reason_code::granted_qos_1);
  // The sentinel is published after the SUBACK: once it is here, any retained message for
  // the subscription has been delivered already.
  CHECK(pub.publish("ret/sentinel", "s", qos::at_least_once).wait_for_publish(patience));
  REQUIRE(rl.wait([&] {
    for (const auto& m : rl.messages)
      if (m.topic == "ret/sentinel") return true;
    return false;
  }));
  CHECK(rl.messages_on("ret/a").empty());
  const auto kept = rl.messages_on("ret/b");
  REQUIRE(kept.size() == 1);
  CHECK(kept.front().retain);
  CHECK(kept.front().payload == large);

  if (v == protocol_version::v5) {
    // 5.0 Retain As Published: live messages keep their retain flag for this subscription.
    subscribe_options rap;
    rap.max_qos = qos::at_least_once;
    rap.retain_as_published = true;
    rap.retain = retain_handling::do_not_send;
    CHECK(subscribe_and_wait(late, rl, "rap/#", rap) == reason_code::granted_qos_1);
    CHECK(pub.publish("rap/x", "flagged", qos::at_least_once, true).wait_for_publish(patience));
    REQUIRE(rl.wait([&] {
      for (const auto& m : rl.messages)
        if (m.topic == "rap/x") return true;
      return false;
    }));
    CHECK(rl.messages_on("rap/x").front().retain);
  }
  disconnect_and_stop(late);
  disconnect_and_stop(sub);
  disconnect_and_stop(pub);
}

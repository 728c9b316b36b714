// Topic Aliases [MQTT 3.3.2.3.4] (5.0). Outgoing: the session assigns them within
// min(max_outgoing_topic_aliases, the server's Topic Alias Maximum), topic and alias on a
// topic's first use, the alias alone afterwards, least recently used replaced, all forgotten
// on a new connection. Incoming: mappings kept, an empty topic resolved, invalid aliases refused.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {

session_config alias_config() {
  session_config c = test_config(protocol_version::v5);
  c.keep_alive = 0s;
  c.topic_alias_maximum = 4;  // incoming aliases we accept
  return c;
}

tern::connack alias_connack(std::uint16_t server_max, bool session_present = false) {
  static std::array<property, 1> props;
  props[0] = property::integer(property_id::topic_alias_maximum, server_max);
  tern::connack a;
  a.session_present = session_present;
  a.props = props;
  return a;
}

struct aliased {
  std::string topic;
  std::optional<std::uint32_t> alias;
};

aliased next_publish(session_peer& p) {
  const auto m = p.expect<tern::publish>();
  return {std::string(m->topic), m->props.number(property_id::topic_alias)};
}

tern::publish incoming(std::string_view topic, std::uint32_t alias,
                       std::string_view payload = "x") {
  static std::array<property, 1> props;
  props[0] = property::integer(property_id::topic_alias, alias);
  tern::publish p = make_publish(topic, payload);
  p.props = props;
  return p;
}
}  // namespace

TEST_CASE("topic alias out: topic and alias first, then the alias alone [MQTT-3.3.2-12]") {
  session_peer p(alias_config());
  (void)p.connect_with(alias_connack(10));
  (void)p.publish("sensors/kitchen/temp", "1");
  p.expect_bytes(R"(
    30           // PUBLISH, QoS 0
    1b           // remaining length 27
    00 14 73 65 6e 73 6f 72 73 2f 6b 69 74 63 68 65 6e 2f 74 65 6d 70
                 // topic "sensors/kitchen/temp"
    03           // property length 3
    23 00 01     // Topic Alias 1
    31           // payload "1"
  )");
  (void)p.publish("sensors/kitchen/temp", "2");
  p.expect_bytes(R"(
    30           // PUBLISH, QoS 0
    07           // remaining length 7
    00 00        // empty topic: the alias stands for it
    03           // property length 3
    23 00 01     // Topic Alias 1
    32           // payload "2"
  )");
  // QoS 1 and 2 messages share the table.
  (void)p.publish("sensors/kitchen/temp", "3", qos::at_least_once);
  auto m = p.expect<tern::publish>();
  CHECK(str(m->topic).empty());
  CHECK(m->props.number(property_id::topic_alias) == 1u);
  CHECK(str(as_chars(m->payload)) == "3");
  (void)p.publish("other", "4", qos::exactly_once);
  m = p.expect<tern::publish>();
  CHECK(str(m->topic) == "other");
  CHECK(m->props.number(property_id::topic_alias) == 2u);
}

TEST_CASE("topic alias out: the application's properties are kept next to the alias") {
  session_peer p(alias_config());
  (void)p.connect_with(alias_connack(10));
  const std::array<property, 2> props{property::string(property_id::content_type, "json"),
                                      property::user("a", "b")};
  (void)p.publish("t/1", "x", qos::at_least_once, props);
  (void)p.publish("t/1", "y", qos::at_least_once, props);
  for (const char* topic : {"t/1", ""}) {
    const auto m = p.expect<tern::publish>();
    CHECK(str(m->topic) == topic);
    CHECK(m->props.size() == 3);
    CHECK(m->props.text(property_id::content_type) == "json");
    CHECK(m->props.number(property_id::topic_alias) == 1u);
  }
}

TEST_CASE("topic alias out: the least recently used alias is replaced when the table is full") {
  session_peer p(alias_config());
  (void)p.connect_with(alias_connack(2));
  (void)p.publish("a", "1");  // a → 1
  (void)p.publish("b", "2");  // b → 2
  (void)p.publish("a", "3");  // a used: b is now the least recent
  (void)p.publish("c", "4");  // c takes b's alias
  (void)p.publish("b", "5");  // b takes a's alias (a used before c)
  (void)p.publish("c", "6");
  const std::vector<std::pair<std::string, std::uint32_t>> expected{{"a", 1}, {"b", 2}, {"", 1},
                                                                    {"c", 2}, {"b", 1}, {"", 2}};
  for (const auto& [topic, alias] : expected) {
    const aliased got = next_publish(p);
    CHECK(got.topic == topic);
    CHECK(got.alias == alias);
  }
}

TEST_CASE("topic alias out: the smaller of both maxima; none when either is 0") {
  SUBCASE("ours smaller") {
    session_config c = alias_config();
    c.max_outgoing_topic_aliases = 1;
    session_peer p(c);
    (void)p.connect_with(alias_connack(100));
    (void)p.publish("a", "1");
    (void)p.publish("b", "2");
    CHECK(next_publish(p).alias == 1u);
    const aliased b = next_publish(p);
    CHECK(b.topic == "b");
    CHECK(b.alias == 1u);
  }
  SUBCASE("the server allows none") {
    session_peer p(alias_config());
    (void)p.connect_with();
    (void)p.publish("a", "1");
    (void)p.publish("a", "2", qos::at_least_once);
    for (int i = 0; i < 2; ++i) {
      const aliased got = next_publish(p);
      CHECK(got.topic == "a");
      CHECK_FALSE(got.alias);
    }
  }
  SUBCASE("we use none") {
    session_config c = alias_config();
    c.max_outgoing_topic_aliases = 0;
    session_peer p(c);
    (void)p.connect_with(alias_connack(100));
    (void)p.publish("a", "1");
    (void)p.publish("a", "2");
    CHECK_FALSE(next_publish(p).alias);
    CHECK_FALSE(next_publish(p).alias);
  }
}

TEST_CASE("topic alias out: mappings start over on a new connection [MQTT-3.3.2-10]") {
  session_peer p(alias_config());
  (void)p.connect_with(alias_connack(10));
  (void)p.publish("a", "1");
  (void)p.publish("a", "2", qos::at_least_once);
  (void)p.expect_event<ev_completed>();  // QoS 0 written
  CHECK(next_publish(p).topic == "a");
  const auto unacked = p.expect<tern::publish>();
  CHECK(str(unacked->topic).empty());
  p.close();
  (void)p.expect_event<ev_disconnected>();
  (void)p.reconnect_with(alias_connack(10, true));
  // The resend is framed for the new connection: full topic, a fresh alias, DUP set.
  const auto resent = p.expect<tern::publish>();
  CHECK(resent->dup);
  CHECK(resent->packet_id == unacked->packet_id);
  CHECK(str(resent->topic) == "a");
  CHECK(resent->props.number(property_id::topic_alias) == 1u);
  (void)p.publish("a", "3");
  const aliased next = next_publish(p);
  CHECK(next.topic.empty());
  CHECK(next.alias == 1u);
}

TEST_CASE("topic alias out: an alias given by the application is refused") {
  session_peer p(alias_config());
  (void)p.connect_with(alias_connack(10));
  const std::array<property, 1> props{property::integer(property_id::topic_alias, 1)};
  for (const qos q : {qos::at_most_once, qos::at_least_once}) {
    CHECK(p.s.publish(make_publish("a", "x", q, props), p.now).error() ==
          errc::property_not_allowed);
  }
  p.pump();
  p.expect_nothing();
  CHECK(p.s.inflight() == 0);
}

TEST_CASE("topic alias in: a mapping is kept and resolves an empty topic [MQTT-3.3.2-12]") {
  const feed_mode f = each_feed();
  session_peer p(alias_config());
  p.feed = f;
  p.start();
  CHECK(p.expect<tern::connect>()->props.number(property_id::topic_alias_maximum) == 4u);
  p.reply(tern::connack{});
  (void)p.expect_event<ev_connected>();
  p.reply(incoming("x/y", 3, "1"));
  p.reply(incoming("", 3, "2"));
  p.reply(incoming("z", 3, "3"));  // remapped
  p.reply(incoming("", 3, "4"));
  p.reply(incoming("a-long-topic-name-past-any-small-string-buffer", 4, "5"));
  p.reply(incoming("", 4, "6"));
  const std::vector<std::string> topics{"x/y",
                                        "x/y",
                                        "z",
                                        "z",
                                        "a-long-topic-name-past-any-small-string-buffer",
                                        "a-long-topic-name-past-any-small-string-buffer"};
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const auto m = p.expect_event<ev_message>();
    CHECK(m.topic == topics[i]);
    CHECK(m.payload == std::to_string(i + 1));
    CHECK(m.props.number(property_id::topic_alias) == (i < 4 ? 3u : 4u));
  }
}

TEST_CASE("topic alias in: views stay valid when an alias is remapped within one input") {
  session_peer p(alias_config());
  (void)p.connect_with();
  std::vector<std::byte> all;
  for (const auto& [topic, payload] : std::vector<std::pair<std::string, std::string>>{
           {"a/b", "1"}, {"", "2"}, {"c/d", "3"}, {"", "4"}, {"e", "5"}, {"", "6"}}) {
    const auto one = encoded(incoming(topic, 1, payload), protocol_version::v5);
    all.insert(all.end(), one.begin(), one.end());
  }
  p.reply_bytes(all);
  const std::vector<std::string> topics{"a/b", "a/b", "c/d", "c/d", "e", "e"};
  for (const std::string& t : topics) CHECK(p.expect_event<ev_message>().topic == t);
}

TEST_CASE("topic alias in: invalid aliases end the connection [MQTT-3.3.2-9] [MQTT-3.3.2-8]") {
  SUBCASE("above our Topic Alias Maximum: Topic Alias invalid") {
    session_peer p(alias_config());
    (void)p.connect_with();
    p.reply(incoming("t", 5));
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::protocol_error);
    CHECK(d.code == reason_code::topic_alias_invalid);
    CHECK(p.expect<tern::disconnect>()->code == reason_code::topic_alias_invalid);
    p.expect_no_event();  // not delivered
  }
  SUBCASE("any alias when we accept none") {
    session_config c = alias_config();
    c.topic_alias_maximum = 0;
    session_peer p(c);
    (void)p.connect_with();
    p.reply(incoming("t", 1));
    CHECK(p.expect<tern::disconnect>()->code == reason_code::topic_alias_invalid);
  }
  SUBCASE("alias 0") {
    session_peer p(alias_config());
    (void)p.connect_with();
    p.raw(R"(
      30        // PUBLISH QoS 0
      07        // remaining length
      00 01 74  // topic "t"
      03        // property length
      23 00 00  // Topic Alias 0
    )");
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.code == reason_code::topic_alias_invalid);
    REQUIRE(d.error);
    CHECK(d.error->code == decode_errc::topic_alias_zero);
    CHECK(p.expect<tern::disconnect>()->code == reason_code::topic_alias_invalid);
  }
  SUBCASE("an empty topic with an alias never mapped: protocol error") {
    session_peer p(alias_config());
    (void)p.connect_with();
    p.reply(incoming("", 2));
    const auto d = p.expect_event<ev_disconnected>();
    CHECK(d.cause == disconnect_cause::protocol_error);
    CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
    p.expect_no_event();
  }
  SUBCASE("mappings do not outlive their connection [MQTT-3.3.2-7]") {
    session_peer p(alias_config());
    (void)p.connect_with();
    p.reply(incoming("t", 2));
    (void)p.expect_event<ev_message>();
    p.close();
    (void)p.expect_event<ev_disconnected>();
    (void)p.reconnect_with();
    p.reply(incoming("", 2));
    CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::protocol_error);
    CHECK(p.expect<tern::disconnect>()->code == reason_code::protocol_error);
  }
}

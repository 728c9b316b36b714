// SUBSCRIBE / UNSUBSCRIBE and their acknowledgements [MQTT 3.8-3.11], requests aborted by a
// lost connection, and automatic resubscription when the broker lost the session [MQTT 4.1]:
// the active subscriptions replayed with their options and Subscription Identifiers.
#include <doctest/doctest.h>

#include <array>
#include <map>
#include <string>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

session_config sub_config(v version) {
  session_config c = test_config(version);
  c.keep_alive = 0s;
  return c;
}

tern::suback suback_for(std::uint16_t id, std::span<const reason_code> codes,
                        properties props = {}) {
  return tern::suback{id, reason_code_list(codes), props};
}

// An UNSUBACK for one filter: 5.0 has a reason code per filter, 3.1.1 none.
tern::unsuback unsuback_for(std::uint16_t id, v version) {
  static const std::array<reason_code, 1> ok{reason_code::success};
  tern::unsuback a;
  a.packet_id = id;
  if (version == v::v5) a.codes = ok;
  return a;
}

struct filter_seen {
  subscribe_options options;
  std::optional<std::uint32_t> identifier;
};

// Reads every SUBSCRIBE the client wrote now: filter → options and identifier.
std::map<std::string, filter_seen> subscribes_written(session_peer& p,
                                                      std::vector<std::uint16_t>* ids = nullptr) {
  std::map<std::string, filter_seen> out;
  while (p.packets_waiting() != 0) {
    const auto s = p.expect<tern::subscribe>();
    if (ids) ids->push_back(s->packet_id);
    for (const subscription x : s->subscriptions)
      out[std::string(x.filter)] = {x.options,
                                    s->props.number(property_id::subscription_identifier)};
  }
  return out;
}
}  // namespace

TEST_CASE(
    "subscribe: SUBSCRIBE carries filters and options, SUBACK its codes [MQTT 3.8] "
    "[MQTT 3.9]") {
  const v version = each_version();
  session_peer p(sub_config(version));
  (void)p.connect_with();
  subscribe_options rich{qos::exactly_once, false, false, retain_handling::send_on_subscribe};
  if (version == v::v5) {
    rich.no_local = true;
    rich.retain_as_published = true;
    rich.retain = retain_handling::do_not_send;
  }
  const std::array<subscription, 2> subs{subscription{"a/+", {qos::at_least_once}},
                                         subscription{"b/#", rich}};
  const std::array<property, 2> props{property::integer(property_id::subscription_identifier, 7),
                                      property::user("k", "v")};
  const std::uint16_t id = p.subscribe(subs, version == v::v5 ? properties(props) : properties());
  const auto sent_sub = p.expect<tern::subscribe>();
  CHECK(sent_sub->packet_id == id);
  CHECK(id != 0);
  std::vector<subscription> got(sent_sub->subscriptions.begin(), sent_sub->subscriptions.end());
  REQUIRE(got.size() == 2);
  CHECK(got[0] == subs[0]);
  CHECK(got[1] == subs[1]);
  if (version == v::v5) CHECK(sent_sub->props.number(property_id::subscription_identifier) == 7u);

  const std::array<reason_code, 2> codes{reason_code::granted_qos_1,
                                         reason_code::unspecified_error};
  const std::array<property, 1> ack_props{property::string(property_id::reason_string, "half")};
  p.reply(suback_for(id, codes, version == v::v5 ? properties(ack_props) : properties()));
  const auto ev = p.expect_event<ev_subscribed>();
  CHECK(ev.packet_id == id);
  CHECK(ev.codes == std::vector<reason_code>(codes.begin(), codes.end()));
  CHECK_FALSE(ev.resubscribe);
  CHECK_FALSE(ev.aborted);
  if (version == v::v5) CHECK(ev.props.text(property_id::reason_string) == "half");
}

TEST_CASE("subscribe: UNSUBSCRIBE and UNSUBACK [MQTT 3.10] [MQTT 3.11]") {
  const v version = each_version();
  session_peer p(sub_config(version));
  (void)p.connect_with();
  const std::array<std::string_view, 2> filters{"a", "b/+"};
  const auto id = p.s.unsubscribe(filters, p.now);
  REQUIRE(id.has_value());
  p.pump();
  const auto u = p.expect<tern::unsubscribe>();
  CHECK(u->packet_id == *id);
  CHECK(std::vector<std::string_view>(u->filters.begin(), u->filters.end()) ==
        std::vector<std::string_view>{"a", "b/+"});
  tern::unsuback ack;
  ack.packet_id = *id;
  const std::array<reason_code, 2> codes{reason_code::success,
                                         reason_code::no_subscription_existed};
  if (version == v::v5) ack.codes = codes;
  p.reply(ack);
  const auto ev = p.expect_event<ev_unsubscribed>();
  CHECK(ev.packet_id == *id);
  CHECK(ev.codes.size() == (version == v::v5 ? 2u : 0u));
  CHECK_FALSE(ev.aborted);
}

TEST_CASE("subscribe: requests need a connection; unanswered ones are aborted when it ends") {
  const v version = each_version();
  session_peer p(sub_config(version));
  const std::array<subscription, 1> subs{subscription{"a", {}}};
  const std::array<std::string_view, 1> filters{"a"};
  CHECK(p.s.subscribe(subs, p.now).error() == errc::not_connected);
  CHECK(p.s.unsubscribe(filters, p.now).error() == errc::not_connected);
  (void)p.connect_with();
  const std::uint16_t s = p.subscribe(subs);
  const auto u = p.s.unsubscribe(filters, p.now).value();
  p.pump();
  p.close();
  CHECK(p.expect_event<ev_disconnected>().cause == disconnect_cause::transport_closed);
  const auto a1 = p.expect_event<ev_subscribed>();
  CHECK(a1.packet_id == s);
  CHECK(a1.aborted);
  CHECK(a1.codes.empty());
  const auto a2 = p.expect_event<ev_unsubscribed>();
  CHECK(a2.packet_id == u);
  CHECK(a2.aborted);
}

TEST_CASE("subscribe: acknowledgements for unknown packet ids are ignored") {
  const v version = each_version();
  session_peer p(sub_config(version));
  (void)p.connect_with();
  const std::array<reason_code, 1> codes{reason_code::granted_qos_0};
  p.reply(suback_for(99, codes));
  p.reply(unsuback_for(98, version));
  p.expect_no_event();
  CHECK(p.s.is_connected());
}

TEST_CASE(
    "resubscribe: when the broker lost the session, active subscriptions are replayed "
    "with options and identifiers [MQTT 4.1]") {
  const v version = each_version();
  session_peer p(sub_config(version));
  (void)p.connect_with();
  const subscribe_options o1{qos::at_least_once, false, false, retain_handling::send_on_subscribe};
  subscribe_options o2{qos::exactly_once, false, false, retain_handling::send_on_subscribe};
  if (version == v::v5) {
    o2.no_local = true;
    o2.retain = retain_handling::send_if_new_subscription;
  }
  const std::array<subscription, 2> first{subscription{"a/+", o1}, subscription{"refused", o1}};
  const std::array<subscription, 1> second{subscription{"b", o2}};
  const std::array<subscription, 1> third{subscription{"gone", o1}};
  const std::array<property, 1> id5{property::integer(property_id::subscription_identifier, 5)};
  const bool v5 = version == v::v5;
  const std::uint16_t s1 = p.subscribe(first, v5 ? properties(id5) : properties());
  const std::uint16_t s2 = p.subscribe(second);
  const std::uint16_t s3 = p.subscribe(third);
  (void)subscribes_written(p);
  const std::array<reason_code, 2> ok_refused{reason_code::granted_qos_1,
                                              reason_code::unspecified_error};
  const std::array<reason_code, 1> ok2{reason_code::granted_qos_2};
  p.reply(suback_for(s1, ok_refused));
  p.reply(suback_for(s2, ok2));
  p.reply(suback_for(s3, ok2));
  const std::array<std::string_view, 1> gone{"gone"};
  const std::uint16_t u = p.s.unsubscribe(gone, p.now).value();
  p.pump();
  (void)p.expect<tern::unsubscribe>();
  p.reply(unsuback_for(u, version));
  (void)p.take_events();

  SUBCASE("Session Present 0: replayed, flagged resubscribe") {
    p.close();
    (void)p.take_events();
    (void)p.reconnect_with(tern::connack{});
    std::vector<std::uint16_t> ids;
    const auto seen = subscribes_written(p, &ids);
    REQUIRE(seen.size() == 2);  // not the refused filter, not the unsubscribed one
    REQUIRE(seen.count("a/+") == 1);
    REQUIRE(seen.count("b") == 1);
    CHECK(seen.at("a/+").options == o1);
    CHECK(seen.at("b").options == o2);
    if (v5) {
      CHECK(seen.at("a/+").identifier == 5u);
      CHECK_FALSE(seen.at("b").identifier);
      CHECK(ids.size() == 2);  // the identifier belongs to the packet: one SUBSCRIBE each
    }
    for (const std::uint16_t id : ids) {
      const std::array<reason_code, 1> granted{reason_code::granted_qos_1};
      const std::array<reason_code, 2> granted2{reason_code::granted_qos_1,
                                                reason_code::granted_qos_1};
      const std::size_t n = ids.size() == 1 ? 2 : 1;
      p.reply(n == 1 ? suback_for(id, granted) : suback_for(id, granted2));
      const auto ev = p.expect_event<ev_subscribed>();
      CHECK(ev.resubscribe);
      CHECK(ev.packet_id == id);
    }
  }
  SUBCASE("Session Present 1: the broker still has them") {
    p.close();
    (void)p.take_events();
    tern::connack ack;
    ack.session_present = true;
    (void)p.reconnect_with(ack);
    p.expect_nothing();
  }
}

TEST_CASE("resubscribe: off when auto_resubscribe is false") {
  const v version = each_version();
  session_config c = sub_config(version);
  c.auto_resubscribe = false;
  session_peer p(c);
  (void)p.connect_with();
  const std::array<subscription, 1> subs{subscription{"a", {}}};
  const std::uint16_t id = p.subscribe(subs);
  (void)p.expect<tern::subscribe>();
  const std::array<reason_code, 1> ok{reason_code::granted_qos_0};
  p.reply(suback_for(id, ok));
  p.close();
  (void)p.take_events();
  (void)p.reconnect_with(tern::connack{});
  p.expect_nothing();
}

TEST_CASE("resubscribe: a filter the broker refuses on replay is not replayed again") {
  const v version = each_version();
  session_peer p(sub_config(version));
  (void)p.connect_with();
  const std::array<subscription, 2> subs{subscription{"a", {}}, subscription{"b", {}}};
  const std::uint16_t id = p.subscribe(subs);
  (void)p.expect<tern::subscribe>();
  const std::array<reason_code, 2> ok{reason_code::granted_qos_0, reason_code::granted_qos_0};
  p.reply(suback_for(id, ok));
  for (int round = 0; round < 2; ++round) {
    p.close();
    (void)p.take_events();
    (void)p.reconnect_with(tern::connack{});
    const auto again = p.expect<tern::subscribe>();
    std::vector<std::string> filters;
    for (const subscription s : again->subscriptions) filters.emplace_back(s.filter);
    if (round == 0) {
      CHECK(filters == std::vector<std::string>{"a", "b"});
      const std::array<reason_code, 2> half{reason_code::granted_qos_0,
                                            reason_code::unspecified_error};
      p.reply(suback_for(again->packet_id, half));
    } else {
      CHECK(filters == std::vector<std::string>{"a"});
    }
  }
}

TEST_CASE(
    "resubscribe: a filter the broker refused to unsubscribe is still replayed "
    "[MQTT 3.11.3]") {
  session_peer p(sub_config(v::v5));
  (void)p.connect_with();
  const std::array<subscription, 2> subs{subscription{"a", {}}, subscription{"b", {}}};
  const std::uint16_t id = p.subscribe(subs);
  (void)p.expect<tern::subscribe>();
  const std::array<reason_code, 2> ok{reason_code::granted_qos_0, reason_code::granted_qos_0};
  p.reply(suback_for(id, ok));
  const std::array<std::string_view, 2> both{"a", "b"};
  const std::uint16_t u = p.s.unsubscribe(both, p.now).value();
  p.pump();
  (void)p.expect<tern::unsubscribe>();
  const std::array<reason_code, 2> codes{reason_code::success, reason_code::not_authorized};
  p.reply(tern::unsuback{u, codes, {}});
  (void)p.take_events();
  p.close();
  (void)p.take_events();
  (void)p.reconnect_with(tern::connack{});
  const auto again = p.expect<tern::subscribe>();
  std::vector<std::string> filters;
  for (const subscription s : again->subscriptions) filters.emplace_back(s.filter);
  CHECK(filters == std::vector<std::string>{"b"});  // "b" is still subscribed at the broker
}

TEST_CASE("subscribe: a SUBACK must carry one code per filter [MQTT-3.8.4-6]") {
  const v version = each_version();
  session_peer p(sub_config(version));
  (void)p.connect_with();
  const std::array<subscription, 2> two{subscription{"a", {}}, subscription{"b", {}}};
  const std::uint16_t id = p.subscribe(two);
  (void)p.expect<tern::subscribe>();
  const std::array<reason_code, 1> one{reason_code::granted_qos_0};
  p.reply(suback_for(id, one));
  const auto d = p.expect_event<ev_disconnected>();
  CHECK(d.cause == disconnect_cause::protocol_error);
  CHECK(d.code == reason_code::protocol_error);
}

TEST_CASE("resubscribe: what the new server does not support is not replayed") {
  session_peer p(sub_config(v::v5));
  (void)p.connect_with();
  const std::array<subscription, 2> subs{subscription{"a/#", {}}, subscription{"plain", {}}};
  const std::uint16_t id = p.subscribe(subs);
  (void)p.expect<tern::subscribe>();
  const std::array<reason_code, 2> granted{reason_code::granted_qos_0, reason_code::granted_qos_0};
  p.reply(suback_for(id, granted));
  p.close();
  (void)p.take_events();
  const std::array<property, 1> no_wildcards{
      property::integer(property_id::wildcard_subscription_available, 0)};
  tern::connack ack;
  ack.props = properties(no_wildcards);
  (void)p.reconnect_with(ack);
  const auto seen = subscribes_written(p);
  CHECK(seen.size() == 1);
  CHECK(seen.count("plain") == 1);  // "a/#" would make the broker disconnect (0xA2)
}

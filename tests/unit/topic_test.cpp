// Topic names, topic filters, shared subscriptions and topic_matches_sub [MQTT 4.7, 4.8.2].
// The matching table gathers the examples of the specification (4.7.1.2, 4.7.1.3, 4.7.2) and
// the cases paho-mqtt and mosquitto test their topic_matches_sub with.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

#include "support/random_packets.hpp"
#include "tern/topic.hpp"

namespace {

using namespace tern;

const char* name(topic_error e) {
  switch (e) {
    case topic_error::empty: return "empty";
    case topic_error::too_long: return "too_long";
    case topic_error::invalid_utf8: return "invalid_utf8";
    case topic_error::null_character: return "null_character";
    case topic_error::wildcard_in_name: return "wildcard_in_name";
    case topic_error::misplaced_wildcard: return "misplaced_wildcard";
    case topic_error::invalid_shared_subscription: return "invalid_shared_subscription";
  }
  return "?";
}

// "ok" or the error's name, so a failed CHECK prints both sides.
std::string name_check(std::string_view topic) {
  auto r = validate_topic_name(topic);
  return r ? "ok" : name(r.error());
}
std::string filter_check(std::string_view filter, bool shared = true) {
  auto r = validate_topic_filter(filter, shared);
  return r ? "ok" : name(r.error());
}

}  // namespace

TEST_CASE("validate_topic_name: valid names [MQTT 4.7.3]") {
  for (std::string_view t : {"a", "/", "//", "a/b", "/finance", "sport/tennis/player1", " ",
                             "a b/c d", "$SYS/broker/load", "$", "\xE2\x82\xAC/\xF0\x9F\x98\x80",
                             "ACCOUNTS", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "$share/g/x"}) {
    INFO(t);
    CHECK(name_check(t) == "ok");
    CHECK(is_valid_topic_name(t));
  }
  CHECK(name_check(std::string(65'535, 'a')) == "ok");
}

TEST_CASE("validate_topic_name: each topic_error") {
  CHECK(name_check("") == "empty");                                 // [MQTT-4.7.3-1]
  CHECK(name_check(std::string(65'536, 'a')) == "too_long");
  CHECK(name_check(std::string(70'000, '/')) == "too_long");
  CHECK(name_check("a/\xC0\x80") == "invalid_utf8");
  CHECK(name_check("\xED\xA0\x80") == "invalid_utf8");
  CHECK(name_check("a/\xC3") == "invalid_utf8");
  CHECK(name_check(std::string_view("a\0b", 3)) == "null_character");  // [MQTT-4.7.3-2]
  for (std::string_view t : {"+", "#", "a/+", "a/#", "+/a", "a+", "a#b", "sport/tennis/#",
                             "$SYS/#"}) {
    INFO(t);
    CHECK(name_check(t) == "wildcard_in_name");  // [MQTT-4.7.1-1]
    CHECK_FALSE(is_valid_topic_name(t));
  }
  CHECK_FALSE(has_wildcard("a/b"));
  CHECK(has_wildcard("a/+"));
  CHECK(has_wildcard("#"));
  CHECK(has_wildcard("a#"));
}

TEST_CASE("validate_topic_filter: valid filters [MQTT 4.7.1]") {
  for (std::string_view f :
       {"#", "+", "+/+", "/+", "+/", "/#", "a/#", "+/#", "sport/tennis/player1/#", "sport/+",
        "sport/+/player1", "a//b", "/", "+/+/+", "$SYS/#", "$SYS/monitor/+", "a/b/c",
        "\xE2\x82\xAC/+", "a/+/#"}) {
    INFO(f);
    CHECK(filter_check(f) == "ok");
    CHECK(filter_check(f, false) == "ok");
    CHECK(is_valid_topic_filter(f));
  }
  CHECK(filter_check(std::string(65'535, 'a')) == "ok");
}

TEST_CASE("validate_topic_filter: each topic_error") {
  CHECK(filter_check("") == "empty");
  CHECK(filter_check(std::string(65'536, '+')) == "too_long");
  CHECK(filter_check("a/\xF4\x90\x80\x80") == "invalid_utf8");
  CHECK(filter_check(std::string_view("a/\0", 3)) == "null_character");
  for (std::string_view f : {"a/#/b", "#/a", "##", "a#", "#a", "a/b#", "sport/tennis#", "+a",
                             "a+", "a/+b", "a/b+", "++", "+#", "#+", "a/#/#", "/#/",
                             "sport+"}) {
    INFO(f);
    CHECK(filter_check(f) == "misplaced_wildcard");
    CHECK(filter_check(f, false) == "misplaced_wildcard");
    CHECK_FALSE(is_valid_topic_filter(f));
  }
}

TEST_CASE("shared subscriptions: $share/{name}/{filter} [MQTT-4.8.2-1, -2]") {
  for (std::string_view f : {"$share/g/f", "$share/group/a/b", "$share/g/#", "$share/g/+",
                             "$share/g/a/+", "$share/g/+/#", "$share/g//", "$share/g/$SYS/#",
                             "$share/\xC3\xA9/x"}) {
    INFO(f);
    CHECK(filter_check(f) == "ok");
  }
  for (std::string_view f : {"$share//f", "$share/g", "$share/g/", "$share/g+/f", "$share/g#/f",
                             "$share/+/f", "$share/#/f", "$share/#", "$share/+", "$share/",
                             "$share//"}) {
    INFO(f);
    CHECK(filter_check(f) == "invalid_shared_subscription");
  }
  // The inner filter must be valid too.
  CHECK_FALSE(validate_topic_filter("$share/g/a/#/b").has_value());
  CHECK_FALSE(validate_topic_filter("$share/g/a+").has_value());

  // Without shared subscriptions these are ordinary filters.
  CHECK(filter_check("$share//x", false) == "ok");
  CHECK(filter_check("$share/g", false) == "ok");
  CHECK(filter_check("$share/", false) == "ok");
  CHECK(filter_check("$share/g+/f", false) == "misplaced_wildcard");
  CHECK(filter_check("$share/+/f", false) == "ok");
  // Only "$share/" starts one.
  CHECK(filter_check("$share") == "ok");
  CHECK(filter_check("$shared/g/f") == "ok");
  CHECK(filter_check("$SHARE/g") == "ok");
  CHECK(filter_check("a/$share/g") == "ok");
}

TEST_CASE("parse_shared_subscription splits without validating") {
  auto s = parse_shared_subscription("$share/consumers/sensors/+/temp");
  REQUIRE(s);
  CHECK(s->share_name == "consumers");
  CHECK(s->filter == "sensors/+/temp");
  auto t = parse_shared_subscription("$share/g/#");
  REQUIRE(t);
  CHECK(t->share_name == "g");
  CHECK(t->filter == "#");
  CHECK_FALSE(parse_shared_subscription("sensors/+"));
  CHECK_FALSE(parse_shared_subscription("$share"));
  CHECK_FALSE(parse_shared_subscription("$SYS/x"));
  CHECK_FALSE(parse_shared_subscription(""));
}

namespace {
struct match_case {
  const char* filter;
  const char* topic;
};

// Matches.
constexpr match_case matching[] = {
    // paho-mqtt
    {"foo/bar", "foo/bar"},
    {"foo/+", "foo/bar"},
    {"foo/+/baz", "foo/bar/baz"},
    {"foo/+/#", "foo/bar/baz"},
    {"A/B/+/#", "A/B/B/C"},
    {"#", "foo/bar/baz"},
    {"#", "/foo/bar"},
    {"/#", "/foo/bar"},
    {"$SYS/bar", "$SYS/bar"},
    // mosquitto: empty levels and '#' matching its parent
    {"foo/#", "foo/"},
    {"foo/#", "foo"},
    {"foo//bar", "foo//bar"},
    {"foo//+", "foo//bar"},
    {"foo/+/+/baz", "foo///baz"},
    {"foo/bar/+", "foo/bar/"},
    {"foo/+/#", "foo/bar"},
    // the specification, 4.7.1.2 and 4.7.1.3
    {"sport/tennis/player1/#", "sport/tennis/player1"},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking"},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"},
    {"sport/#", "sport"},
    {"sport/tennis/+", "sport/tennis/player1"},
    {"sport/tennis/+", "sport/tennis/player2"},
    {"sport/+", "sport/"},
    {"+/+", "/finance"},
    {"/+", "/finance"},
    {"+/#", "/finance"},
    // 4.7.2: $-topics by filters that name the $ level
    {"$SYS/#", "$SYS/x"},
    {"$SYS/#", "$SYS"},
    {"$SYS/monitor/+", "$SYS/monitor/Clients"},
    {"$SYS/+", "$SYS/"},
    // empty levels
    {"#", "/"},
    {"+/+", "/"},
    {"/+", "/"},
    {"+/", "a/"},
    {"+", "a"},
    {"#", "a"},
    {"+/+/+", "//"},
    {"a/+/b", "a//b"},
    {"+/b", "/b"},
    // shared subscriptions match what their filter matches
    {"$share/g/a/+", "a/b"},
    {"$share/g/#", "x"},
    {"$share/g/+/b", "a/b"},
    {"$share/group/sport/#", "sport"},
    {"$share/g/$SYS/#", "$SYS/x"},
    // UTF-8 is compared byte for byte
    {"\xE2\x82\xAC/+", "\xE2\x82\xAC/x"},
};

// Does not match (valid filter, valid name).
constexpr match_case not_matching[] = {
    // paho-mqtt
    {"test/6/#", "test/3"},
    {"foo/bar", "foo"},
    {"foo/+", "foo/bar/baz"},
    {"foo/+/baz", "foo/bar/bar"},
    {"foo/+/#", "fo2/bar/baz"},
    {"/#", "foo/bar"},
    {"#", "$SYS/bar"},
    {"$BOB/bar", "$SYS/bar"},
    // the specification
    {"sport/tennis/+", "sport/tennis/player1/ranking"},
    {"sport/+", "sport"},
    {"+", "/finance"},
    {"#", "$SYS/x"},
    {"#", "$SYS"},
    {"+/monitor/Clients", "$SYS/monitor/Clients"},
    {"+", "$SYS"},
    {"+/#", "$SYS/x"},
    {"+/+", "$SYS/x"},
    {"$share/g/#", "$SYS/x"},
    {"#", "$"},  // any topic whose first character is '$'
    {"+", "$"},
    {"+/x", "$a/x"},
    // levels are compared whole and exactly
    {"ACCOUNTS", "Accounts"},
    {"sport", "sport/"},
    {"sport/", "sport"},
    {"+", "/"},
    {"+", "a/b"},
    {"a/+", "a"},
    {"a/b", "a/b/c"},
    {"a/b/c", "a/b"},
    {"foo", "foobar"},
    {"foo/#", "foobar"},
    {"foo/#", "foobar/x"},
    {"a/+/c", "a/b/cd"},
    {"$share/g/a", "$share/g/a"},  // the shared filter is "a"
    {"$share/g/a/+", "$share/g/a/b"},
};

// An invalid filter or topic name matches nothing, however naive matching would go.
constexpr match_case invalid[] = {
    {"+foo", "+foo"},       {"fo+o", "fo+o"},     {"foo+", "foo+"},     {"foo+", "fooa"},
    {"+foo", "afoo"},       {"foo/+bar", "foo/abar"},                  {"#foo", "#foo"},
    {"fo#o", "fo#o"},       {"foo#", "foo#"},     {"foo#", "foo"},      {"foo/#bar", "foo/#bar"},
    {"foo/#a", "foo"},      {"#a", "foo"},        {"/#a", "foo/bar"},  {"a/#/b", "a/x/b"},
    {"foo/+", "foo/+"},     {"foo/#", "foo/+"},   {"foo/+", "foo/bar/+"},
    {"foo/#", "foo/bar/#"}, {"#", "foo/#"},       {"#", "+"},           {"+", "+"},
    {"a", ""},              {"#", ""},            {"+", ""},            {"", ""},
    {"", "a"},              {"$share/g", "g"},    {"$share//a", "a"},   {"$share/g/", ""},
    {"$share/g+/a", "a"},   {"$share/+/a", "a"},
};
}  // namespace

TEST_CASE("topic_matches_sub: matches (paho, mosquitto and the specification)") {
  for (const auto& c : matching) {
    INFO("filter '", c.filter, "' topic '", c.topic, "'");
    CHECK(topic_matches_sub(c.filter, c.topic));
  }
}

TEST_CASE("topic_matches_sub: does not match [MQTT-4.7.2-1]") {
  for (const auto& c : not_matching) {
    INFO("filter '", c.filter, "' topic '", c.topic, "'");
    CHECK_FALSE(topic_matches_sub(c.filter, c.topic));
  }
}

TEST_CASE("topic_matches_sub: invalid filters and topic names match nothing") {
  for (const auto& c : invalid) {
    INFO("filter '", c.filter, "' topic '", c.topic, "'");
    CHECK_FALSE(topic_matches_sub(c.filter, c.topic));
  }
  CHECK_FALSE(topic_matches_sub("#", "a/\xC0\x80"));
  CHECK_FALSE(topic_matches_sub("a/\xC0\x80", "a/\xC0\x80"));
  CHECK_FALSE(topic_matches_sub("#", std::string_view("a\0", 2)));
  CHECK_FALSE(topic_matches_sub("#", std::string(65'536, 'a')));
}

TEST_CASE("topic_matches_sub: properties over random topic names") {
  // For every valid name t not starting with '$': t matches itself, '#', and '+' repeated once
  // per level; t/# matches t; a changed last level does not match.
  tern::test::packet_store store;
  tern::test::packet_generator gen(4711, store);
  for (int i = 0; i < 3000; ++i) {
    const std::string t = gen.topic_name();
    INFO("topic '", t, "'");
    REQUIRE(is_valid_topic_name(t));
    if (t.starts_with("$share/")) continue;
    std::string pluses = "+";
    std::size_t slash = 0;
    for (char c : t)
      if (c == '/') {
        pluses += "/+";
        ++slash;
      }
    const bool dollar = t.front() == '$';
    CHECK(topic_matches_sub(t, t));
    CHECK(topic_matches_sub(t + "/#", t));
    CHECK(topic_matches_sub("#", t) == !dollar);
    CHECK(topic_matches_sub(pluses, t) == !dollar);
    CHECK_FALSE(topic_matches_sub(pluses + "/+", t));
    CHECK_FALSE(topic_matches_sub(t + "/+", t));
    CHECK(topic_matches_sub(t + "/+", t + "/"));
    CHECK(topic_matches_sub("$share/g/" + t, t));
    CHECK_FALSE(topic_matches_sub(t + "x", t));
    CHECK_FALSE(topic_matches_sub(t, t + "x"));
    (void)slash;
  }
}

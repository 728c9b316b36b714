// The logging hook: messages reach the sink with their level, only at or above min_level, and
// never contain credentials or authentication data.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "support/session_peer.hpp"

using namespace tern;
using namespace tern::test;

namespace {
using v = protocol_version;

struct captured {
  std::vector<std::pair<log_level, std::string>> lines;
  bool contains(std::string_view needle) const {
    for (const auto& [level, text] : lines)
      if (text.find(needle) != std::string::npos) return true;
    return false;
  }
};

void capture(void* context, log_level level, std::string_view message) {
  static_cast<captured*>(context)->lines.emplace_back(level, std::string(message));
}

class secret_authenticator final : public authenticator {
 public:
  std::string_view method() const noexcept override { return "SECRET-METHOD"; }
  std::optional<bytes_view> initial_data(bool) noexcept override {
    return as_bytes(std::string_view("auth-data-secret"));
  }
  result<std::optional<bytes_view>, reason_code> challenge(
      std::optional<bytes_view>) noexcept override {
    return std::optional<bytes_view>(as_bytes(std::string_view("challenge-reply-secret")));
  }
  result<void, reason_code> finished(std::optional<bytes_view>) noexcept override { return {}; }
};

// Runs a session through connect, traffic, faults and reconnection with everything logged.
void busy_life(session_peer& p, v version) {
  p.start();
  (void)p.expect<tern::connect>();
  if (version == v::v5) {
    const std::array<property, 2> props{
        property::string(property_id::authentication_method, "SECRET-METHOD"),
        property::binary_data(property_id::authentication_data,
                              as_bytes(std::string_view("server-secret")))};
    p.reply(tern::auth{reason_code::continue_authentication, props});
    (void)p.expect<tern::auth>();
  }
  p.reply(tern::connack{});
  (void)p.publish("t", "payload-secret", qos::at_least_once);
  tern::puback unknown;
  unknown.packet_id = 999;
  p.reply(unknown);
  p.advance(2min);               // keep-alive: PINGREQ, no PINGRESP: connection lost
  p.advance_to_next_deadline();  // reconnect
  p.reply(tern::connack{});
  p.raw("00 00");  // a protocol error
  p.advance_to_next_deadline();
  p.reply(tern::connack{});
  REQUIRE(p.s.disconnect(p.now).has_value());
  p.pump();
}
}  // namespace

TEST_CASE("log: messages reach the sink with their level") {
  const v version = each_version();
  captured out;
  session_config c = test_config(version);
  c.log = {capture, &out, log_level::debug};
  session_peer p(c);
  (void)p.connect_with();
  CHECK(out.contains("connecting as \"tern-test\""));
  CHECK(out.contains("connected"));
  p.raw("00 00");
  bool error_logged = false;
  for (const auto& [level, text] : out.lines)
    if (level == log_level::error && text.find("protocol error") != std::string::npos)
      error_logged = true;
  CHECK(error_logged);
}

TEST_CASE("log: nothing below min_level reaches the sink") {
  captured out;
  session_config c = test_config(v::v5);
  c.log = {capture, &out, log_level::warning};
  session_peer p(c);
  (void)p.connect_with();
  CHECK(out.lines.empty());  // connecting / connected are info
  p.close();
  REQUIRE_FALSE(out.lines.empty());
  for (const auto& [level, text] : out.lines) CHECK(level >= log_level::warning);
}

TEST_CASE("log: credentials and authentication data are never logged") {
  const v version = each_version();
  captured out;
  secret_authenticator auth;
  session_config c = test_config(version);
  c.keep_alive = 60s;
  c.username = "user-secret";
  c.password = as_bytes(std::string_view("password-secret"));
  if (version == v::v5) c.auth = &auth;
  will_message will;
  will.topic = "will";
  will.payload = as_bytes(std::string_view("will-secret"));
  c.will = will;
  c.log = {capture, &out, log_level::debug};
  session_peer p(c);
  busy_life(p, version);
  CHECK(out.lines.size() > 5);
  for (const auto& line : out.lines) {
    const std::string& text = line.second;  // not a structured binding: CAPTURE is a lambda
    CAPTURE(text);
    CHECK(text.find("secret") == std::string::npos);
  }
}

// The Will message through a real mosquitto, MQTT 3.1.1 and 5.0: published by the broker when
// the client's connection ends without DISCONNECT (its socket shut down under it), not
// published after a clean DISCONNECT; in 5.0 also published after DISCONNECT with reason 0x04,
// with its Will Properties.
#include <string>

#include "integration/fixture.hpp"

namespace {

using namespace tern;
using namespace tern::it;

bool has(recorder& r, const std::string& topic) {
  for (const auto& m : r.messages)
    if (m.topic == topic) return true;
  return false;
}

}  // namespace

TEST_CASE("Will: delivered when the connection ends without DISCONNECT, not after a clean one") {
  TERN_FOR_EACH_VERSION(v);
  broker b;
  b.start();

  client observer(client_options{"it-will-observer-" + tag_of(v), v});
  recorder ro;
  ro.attach(observer);
  connect_and_start(observer, ro, b.port());
  CHECK(subscribe_and_wait(observer, ro, "will/#", qos::at_least_once) == reason_code::granted_qos_1);

  // Abrupt: the socket is shut down under the client; the broker sees the connection end
  // without DISCONNECT and publishes the Will.
  {
    client_options o{"it-will-abrupt-" + tag_of(v), v};
    o.reconnect_on_failure = false;
    client c(o);
    recorder rc;
    rc.attach(c);
    c.will_set("will/abrupt", "abrupt goodbye", qos::at_least_once, false);
    connect_and_start(c, rc, b.port());
    cut_connection(c);
    REQUIRE_MESSAGE(ro.wait([&] { return has(ro, "will/abrupt"); }),
                    "no Will after an abrupt close; broker log:\n" << b.log());
    const auto wills = ro.messages_on("will/abrupt");
    REQUIRE(wills.size() == 1);
    CHECK(wills.front().payload_text() == "abrupt goodbye");
    CHECK(wills.front().q == qos::at_least_once);
    CHECK_FALSE(wills.front().retain);
    // The client reports the lost connection, with a failure code, and stays down.
    REQUIRE(rc.wait([&] { return rc.disconnects == 1; }));
    {
      const std::lock_guard<std::mutex> lock(rc.mu);
      CHECK(is_failure(rc.disconnect_codes.front()));
    }
    CHECK_FALSE(c.is_connected());
    CHECK_FALSE(c.loop_stop());
  }

  // Clean: DISCONNECT (reason 0 in 5.0) discards the Will.
  {
    client c(client_options{"it-will-clean-" + tag_of(v), v});
    recorder rc;
    rc.attach(c);
    c.will_set("will/clean", "must not appear", qos::at_least_once, false);
    connect_and_start(c, rc, b.port());
    CHECK_FALSE(c.disconnect());
    REQUIRE(rc.wait([&] { return rc.disconnects == 1; }));
    {
      const std::lock_guard<std::mutex> lock(rc.mu);
      CHECK(rc.disconnect_codes.front() == reason_code::normal_disconnection);
    }
    CHECK_FALSE(c.loop_stop());
  }
  // mosquitto handles the DISCONNECT before the sentinel (sent later, on another connection);
  // the pause makes that certain even on a loaded machine.
  std::this_thread::sleep_for(300ms);
  CHECK(observer.publish("will/sentinel", "after", qos::at_least_once).wait_for_publish(patience));
  REQUIRE(ro.wait([&] { return has(ro, "will/sentinel"); }));
  CHECK(ro.messages_on("will/clean").empty());

  disconnect_and_stop(observer);
}

TEST_CASE("Will: MQTT 5.0 DISCONNECT with reason 0x04 publishes it, with its Will Properties") {
  broker b;
  b.start();
  client observer(client_options{"it-will5-observer", protocol_version::v5});
  recorder ro;
  ro.attach(observer);
  connect_and_start(observer, ro, b.port());
  CHECK(subscribe_and_wait(observer, ro, "will5/#", qos::exactly_once) == reason_code::granted_qos_2);

  client c(client_options{"it-will5", protocol_version::v5});
  recorder rc;
  rc.attach(c);
  property_list will_props;
  will_props.add(property_id::content_type, "text/plain").add_user("why", "asked for");
  c.will_set("will5/asked", "with will", qos::exactly_once, false, will_props);
  connect_and_start(c, rc, b.port());
  CHECK_FALSE(c.disconnect(reason_code::disconnect_with_will_message));
  REQUIRE(rc.wait([&] { return rc.disconnects == 1; }));
  CHECK_FALSE(c.loop_stop());

  REQUIRE_MESSAGE(ro.wait([&] { return has(ro, "will5/asked"); }),
                  "no Will after DISCONNECT 0x04; broker log:\n" << b.log());
  const auto wills = ro.messages_on("will5/asked");
  REQUIRE(wills.size() == 1);
  CHECK(wills.front().payload_text() == "with will");
  CHECK(wills.front().q == qos::exactly_once);
  CHECK(wills.front().content_type == std::optional<std::string>("text/plain"));
  const std::vector<std::pair<std::string, std::string>> users{{"why", "asked for"}};
  CHECK(wills.front().user_properties == users);
  disconnect_and_stop(observer);
}

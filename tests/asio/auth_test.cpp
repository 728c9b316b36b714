// tern::asio::client::async_reauthenticate [MQTT 4.12.1] against a scripted MQTT 5.0 broker
// (mosquitto needs a plugin for AUTH): a challenge answered, an AUTH Success with its
// properties, and a refusal that ends the connection.
#include <thread>

#include "helpers.hpp"
#include "support/scripted_broker.hpp"

using namespace tern;
using namespace tern::asio_test;
namespace ta = tern::asio;

namespace {

constexpr std::string_view method = "TERN-ASIO-TEST";

// Answers each challenge with "response:<challenge>". Called on the client's strand only.
class echo_authenticator final : public authenticator {
 public:
  std::string_view method() const noexcept override { return ::method; }
  std::optional<bytes_view> initial_data(bool reauthenticating) noexcept override {
    initial_ = reauthenticating ? "again" : "hello";
    return as_bytes(std::string_view(initial_));
  }
  result<std::optional<bytes_view>, reason_code> challenge(
      std::optional<bytes_view> data) noexcept override {
    response_ = "response:" + std::string(data ? as_chars(*data) : std::string_view{});
    return std::optional<bytes_view>(as_bytes(std::string_view(response_)));
  }
  result<void, reason_code> finished(std::optional<bytes_view>) noexcept override {
    ++finishes;
    return {};
  }
  int finishes = 0;

 private:
  std::string initial_, response_;
};

}  // namespace

TEST_CASE("asio: async_reauthenticate: challenge, AUTH Success, then a refusal [MQTT 4.12.1]") {
  test::scripted_broker broker;
  echo_authenticator auth;
  ::asio::io_context io;
  const std::string id = "asio-reauth";
  ta::client_options o = options_for(broker.port(), protocol_version::v5, id);
  o.session.auth = &auth;
  o.session.keep_alive = std::chrono::seconds(0);  // no PINGREQ in the script
  o.session.auto_reconnect = false;
  ta::client c(io, o);

  std::thread server([&] {
    REQUIRE(broker.accept());
    const auto connect_bytes = broker.read();
    REQUIRE(connect_bytes);
    const auto connect = std::get<tern::connect>(test::packet_of(*connect_bytes));
    CHECK(test::auth_method(connect.props) == method);
    CHECK(test::auth_data(connect.props) == "hello");
    const std::array<property, 1> with_method{
        property::string(property_id::authentication_method, method)};
    broker.send(connack{false, reason_code::success, properties(with_method)});

    // The first re-authentication: one challenge, then success with a property to hand back.
    const auto again_bytes = broker.read();
    REQUIRE(again_bytes);
    const auto again = std::get<tern::auth>(test::packet_of(*again_bytes));
    CHECK(again.code == reason_code::re_authenticate);
    CHECK(test::auth_data(again.props) == "again");
    const std::array<property, 2> challenge{
        property::string(property_id::authentication_method, method),
        property::binary_data(property_id::authentication_data,
                              as_bytes(std::string_view("nonce-2")))};
    broker.send(tern::auth{reason_code::continue_authentication, properties(challenge)});
    const auto reply_bytes = broker.read();
    REQUIRE(reply_bytes);
    const auto reply = std::get<tern::auth>(test::packet_of(*reply_bytes));
    CHECK(reply.code == reason_code::continue_authentication);
    CHECK(test::auth_data(reply.props) == "response:nonce-2");
    const std::array<property, 2> success{
        property::string(property_id::authentication_method, method),
        property::string(property_id::reason_string, "welcome back")};
    broker.send(tern::auth{reason_code::success, properties(success)});

    // The second: refused, which ends the connection.
    const auto refused_bytes = broker.read();
    REQUIRE(refused_bytes);
    CHECK(std::get<tern::auth>(test::packet_of(*refused_bytes)).code ==
          reason_code::re_authenticate);
    broker.send(tern::disconnect{reason_code::not_authorized, {}});
  });
  struct join_server {
    std::thread& t;
    ~join_server() { t.join(); }
  } joiner{server};

  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    const auto reauthenticate =
        [&]() -> ::asio::awaitable<std::pair<std::error_code, ta::owned_properties>> {
      try {
        ta::owned_properties props = co_await c.async_reauthenticate(use_awaitable);
        co_return std::make_pair(std::error_code{}, std::move(props));
      } catch (const std::system_error& e) {
        co_return std::make_pair(e.code(), ta::owned_properties{});
      }
    };
    CHECK((co_await reauthenticate()).first == make_error_code(errc::not_connected));
    co_await c.async_connect(use_awaitable);
    CHECK(auth.finishes == 1);

    const auto [ok, props] = co_await reauthenticate();
    CHECK_FALSE(ok);
    CHECK(props.text(property_id::reason_string) == "welcome back");
    CHECK(auth.finishes == 2);
    CHECK(c.state() == session_state::connected);

    const auto [refused, none] = co_await reauthenticate();
    CHECK(refused == make_error_code(reason_code::not_authorized));
    CHECK(none.empty());
  });
  CHECK(run_until(io, [&] { return c.state() == session_state::idle; }));
}

TEST_CASE("asio: async_reauthenticate needs MQTT 5.0 and an authenticator") {
  TERN_FOR_EACH_VERSION(v);
  it::broker b;
  b.start();
  ::asio::io_context io;
  const std::string id = "asio-reauth-none-" + it::tag_of(v);
  ta::client c(io, options_for(b.port(), v, id));
  run_coroutine(io, [&]() -> ::asio::awaitable<void> {
    co_await c.async_connect(use_awaitable);
    std::error_code ec;
    try {
      (void)co_await c.async_reauthenticate(use_awaitable);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
    CHECK(ec == make_error_code(errc::unsupported_by_version));
    CHECK(c.state() == session_state::connected);
    co_await c.async_disconnect(use_awaitable);
  });
}

// doctest's runner for the Asio adapter's tests (tern_asio_tests): tern::asio::client against
// real servers started by tests/integration/fixture.hpp (mosquitto, and node for WebSocket).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

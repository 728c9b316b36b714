// The one translation unit that holds doctest's runner for the integration tests (real
// mosquitto, aedes, proxies; see fixture.hpp). SIGPIPE keeps its default action on purpose: a
// client that wrote to a cut connection without MSG_NOSIGNAL would kill the test process.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

// tern::backoff: initial * factor^n capped at maximum, each delay shortened by up to `jitter`
// at random, deterministic from a seed; reset() starts over.
#include "tern/backoff.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <vector>

using namespace tern;
using namespace std::chrono_literals;

namespace {
backoff_config make(duration initial, duration maximum, double factor, double jitter) {
  backoff_config c;
  c.initial = initial;
  c.maximum = maximum;
  c.factor = factor;
  c.jitter = jitter;
  return c;
}

std::vector<duration> draw(backoff& b, int n) {
  std::vector<duration> out;
  for (int i = 0; i < n; ++i) out.push_back(b.next_delay());
  return out;
}
}  // namespace

TEST_CASE("backoff: without jitter the delays grow by the factor up to the maximum") {
  backoff b(make(1s, 10s, 2.0, 0.0), 1);
  CHECK(draw(b, 7) == std::vector<duration>{1s, 2s, 4s, 8s, 10s, 10s, 10s});
  CHECK(b.attempts() == 7);
  backoff slow(make(100ms, 1s, 1.5, 0.0), 1);
  CHECK(draw(slow, 3) == std::vector<duration>{100ms, 150ms, 225ms});
}

TEST_CASE("backoff: with jitter each delay lies in [d * (1 - jitter), d]") {
  for (const std::uint64_t seed : {0ull, 1ull, 42ull, 0xFFFFFFFFFFFFFFFFull}) {
    CAPTURE(seed);
    backoff b(make(1s, 60s, 2.0, 0.25), seed);
    duration nominal = 1s;
    std::set<duration::rep> seen;
    for (int i = 0; i < 200; ++i) {
      const duration d = b.next_delay();
      CHECK(d <= nominal);
      CHECK(d >= nominal - nominal / 4);
      if (nominal == 60s) seen.insert(d.count());
      nominal = std::min<duration>(nominal * 2, 60s);
    }
    CHECK(seen.size() > 150);  // the jitter really varies
  }
}

TEST_CASE("backoff: the same seed gives the same sequence, another seed another") {
  const backoff_config c = make(1s, 120s, 2.0, 0.5);
  backoff a(c, 7), b(c, 7), other(c, 8);
  const auto sa = draw(a, 20);
  CHECK(sa == draw(b, 20));
  CHECK(sa != draw(other, 20));
}

TEST_CASE("backoff: reset() goes back to the initial delay") {
  backoff b(make(1s, 60s, 2.0, 0.0), 3);
  (void)draw(b, 5);
  CHECK(b.next_delay() == 32s);
  b.reset();
  CHECK(b.attempts() == 0);
  CHECK(draw(b, 3) == std::vector<duration>{1s, 2s, 4s});
}

TEST_CASE("backoff: many attempts saturate at the maximum") {
  backoff b(make(1ms, std::chrono::hours(1), 10.0, 0.0), 3);
  for (int i = 0; i < 10'000; ++i) (void)b.next_delay();
  CHECK(b.next_delay() == std::chrono::hours(1));
}

TEST_CASE("backoff: out-of-range settings are clamped") {
  SUBCASE("a factor below 1 does not shrink the delay") {
    backoff b(make(2s, 10s, 0.5, 0.0), 1);
    CHECK(draw(b, 3) == std::vector<duration>{2s, 2s, 2s});
  }
  SUBCASE("a maximum below the initial delay") {
    backoff b(make(5s, 1s, 2.0, 0.0), 1);
    CHECK(draw(b, 2) == std::vector<duration>{5s, 5s});
  }
  SUBCASE("jitter above 1 stays within [0, d]") {
    backoff b(make(1s, 1s, 2.0, 7.0), 1);
    for (int i = 0; i < 100; ++i) {
      const duration d = b.next_delay();
      CHECK(d >= 0s);
      CHECK(d <= 1s);
    }
  }
  SUBCASE("negative jitter is none") {
    backoff b(make(1s, 4s, 2.0, -1.0), 1);
    CHECK(draw(b, 3) == std::vector<duration>{1s, 2s, 4s});
  }
}

// detail::packet_id_set (core/src/packet_id_set.hpp), the incoming QoS 2 ids awaiting PUBREL:
// checked against std::map through random operations that force growth, wrap-around probe runs
// and backward-shift erasure.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>

#include "packet_id_set.hpp"
#include "support/counting_resource.hpp"

using tern::detail::packet_id_set;

TEST_CASE("packet_id_set: find, insert, erase agree with a map") {
  tern::test::counting_resource r;
  {
    packet_id_set set(&r);
    std::map<std::uint16_t, bool> model;
    std::mt19937 rng(20261125);
    // Ids from a small range collide and wrap around the table; a wide range grows it.
    for (const std::uint32_t range : {40u, 3000u, 65535u}) {
      CAPTURE(range);
      for (int step = 0; step < 60'000; ++step) {
        const auto id = static_cast<std::uint16_t>(1 + rng() % range);
        const bool flag = (rng() & 1u) != 0;
        switch (rng() % 3) {
          case 0:
            set.insert(id, flag);
            model[id] = flag;
            break;
          case 1:
            CHECK(set.erase(id) == (model.erase(id) == 1));
            break;
          default: {
            bool got = !flag;
            const bool present = set.find(id, &got);
            const auto it = model.find(id);
            REQUIRE(present == (it != model.end()));
            if (present) CHECK(got == it->second);
          }
        }
        REQUIRE(set.size() == model.size());
      }
      std::size_t seen = 0;
      set.for_each([&](std::uint16_t id, bool flag) {
        ++seen;
        const auto it = model.find(id);
        REQUIRE(it != model.end());
        CHECK(it->second == flag);
      });
      CHECK(seen == model.size());
    }
    set.clear();
    CHECK(set.empty());
    CHECK_FALSE(set.find(1));
    CHECK_FALSE(set.erase(1));
  }
  CHECK(r.bytes_in_use() == 0);  // all of it from the resource, all of it returned
}

TEST_CASE("packet_id_set: ids in sequence do not allocate once grown") {
  tern::test::counting_resource r;
  packet_id_set set(&r);
  for (std::uint16_t id = 1; id <= 1000; ++id) set.insert(id, true);
  const auto before = r.allocations();
  // A window of 1,000 moving through the whole id space, as a busy QoS 2 subscription does.
  for (std::uint32_t id = 1001; id < 200'000; ++id) {
    const auto in = static_cast<std::uint16_t>(1 + (id - 1) % 65535);
    set.insert(in, false);
    const auto out = static_cast<std::uint16_t>(1 + (id - 1001) % 65535);
    REQUIRE(set.erase(out));
  }
  CHECK(r.allocations() == before);
  CHECK(set.size() == 1000);
}

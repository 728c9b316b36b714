// The public headers as a user of a no-exceptions, no-RTTI build sees them. The build compiles
// this one TU with -fno-exceptions -fno-rtti (the core's own flags); the first test case fails
// if it did not. The rest exercises constexpr and inline APIs that live in the headers alone.
#include <tern/tern.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

namespace {

// Usable in constant expressions.
static_assert(tern::varint_size(0) == 1);
static_assert(tern::varint_size(268'435'455) == 4);
static_assert(tern::has_properties(tern::protocol_version::v5));
static_assert(!tern::has_properties(tern::protocol_version::v3_1_1));
static_assert(!tern::has_properties(tern::protocol_version::v3_1));
static_assert(tern::is_failure(tern::reason_code::unspecified_error));
static_assert(!tern::is_failure(tern::reason_code::granted_qos_2));
static_assert(tern::max_packet_size_limit == 268'435'460u);
static_assert(static_cast<int>(tern::packet_type::auth) == 15);
static_assert(tern::property::integer(tern::property_id::receive_maximum, 5).number == 5);
static_assert(tern::property::user("k", "v").id == tern::property_id::user_property);
static_assert(std::is_nothrow_move_constructible_v<tern::decoder>);


}  // namespace

TEST_CASE("noexcept headers: this TU is built with -fno-exceptions -fno-rtti") {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  FAIL_CHECK("compile tests/unit/noexcept_headers_test.cpp with -fno-exceptions");
#endif
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
  FAIL_CHECK("compile tests/unit/noexcept_headers_test.cpp with -fno-rtti");
#endif
  CHECK(true);
}

TEST_CASE("noexcept headers: inline varint, bytes and result work without exceptions") {
  std::array<std::byte, 4> buf{};
  CHECK(tern::write_varint(16'384, buf.data()) == 3);
  const auto r = tern::read_varint(std::span<const std::byte>(buf.data(), 3));
  CHECK(r.status == tern::varint_status::ok);
  CHECK(r.value == 16'384);

  const auto b = tern::as_bytes("mqtt");
  CHECK(b.size() == 4);
  CHECK(tern::as_chars(b) == "mqtt");
  CHECK(tern::equal_bytes(b, tern::as_bytes("mqtt")));
  CHECK_FALSE(tern::equal_bytes(b, tern::as_bytes("mqtT")));

  tern::result<int, tern::errc> ok = 7;
  tern::result<int, tern::errc> bad = tern::unexpected{tern::errc::invalid_qos};
  CHECK(ok.has_value());
  CHECK(*ok == 7);
  CHECK_FALSE(bad);
  CHECK(bad.error() == tern::errc::invalid_qos);
  CHECK(bad.value_or(3) == 3);
  tern::result<void, tern::errc> fine;
  tern::result<void, tern::errc> not_fine = tern::unexpected{tern::errc::empty_list};
  CHECK(fine);
  CHECK(not_fine.error() == tern::errc::empty_list);
  tern::result<int, tern::errc> copy = bad;
  copy = ok;
  CHECK(*copy == 7);
}

TEST_CASE("noexcept headers: lists over caller arrays iterate in order") {
  const tern::reason_code codes[] = {tern::reason_code::granted_qos_1,
                                     tern::reason_code::unspecified_error};
  const tern::reason_code_list list{std::span<const tern::reason_code>(codes)};
  CHECK(list.size() == 2);
  CHECK_FALSE(list.is_wire());
  auto it = list.begin();
  CHECK(*it++ == tern::reason_code::granted_qos_1);
  CHECK(*it++ == tern::reason_code::unspecified_error);
  CHECK(it == list.end());

  const tern::subscription subs[] = {{"a/+", {tern::qos::at_least_once}}};
  tern::subscribe s;
  s.packet_id = 1;
  s.subscriptions = std::span<const tern::subscription>(subs);
  tern::packet p = s;
  CHECK(tern::type_of(p) == tern::packet_type::subscribe);
  CHECK(std::get<tern::subscribe>(p) == s);
}

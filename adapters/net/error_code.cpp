// std::error_code categories for the core's errc and for MQTT reason codes.
#include "tern/error_code.hpp"

#include <string>

#include "tern/reason_code.hpp"

namespace tern {

namespace {

class core_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tern"; }
  std::string message(int e) const override { return std::string(to_string(static_cast<errc>(e))); }
};

class reason_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mqtt.reason"; }
  std::string message(int e) const override {
    const auto code = static_cast<reason_code>(e);
    // CONNACK's wording covers the refusals; codes it does not define keep their own text.
    return std::string(describe(code, packet_type::connack));
  }
};

}  // namespace

const std::error_category& core_category() noexcept {
  static const core_category_impl c;
  return c;
}

const std::error_category& reason_category() noexcept {
  static const reason_category_impl c;
  return c;
}

}  // namespace tern

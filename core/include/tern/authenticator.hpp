// Enhanced authentication [MQTT 4.12] (5.0): a pluggable exchange of AUTH packets carrying an
// Authentication Method and Authentication Data, during CONNECT and later (re-authentication).
#pragma once

#include <optional>

#include "tern/bytes.hpp"
#include "tern/reason_code.hpp"
#include "tern/result.hpp"

namespace tern {

class authenticator {
 public:
  virtual ~authenticator() = default;

  // The Authentication Method sent in CONNECT and AUTH, e.g. "SCRAM-SHA-256". Must stay valid
  // for the authenticator's lifetime.
  virtual std::string_view method() const noexcept = 0;

  // Authentication Data for CONNECT (or for AUTH 0x19 when re-authenticating); nothing to send
  // none. The view must stay valid until the next call on this authenticator.
  virtual std::optional<bytes_view> initial_data(bool reauthenticating) noexcept = 0;

  // The server sent AUTH with Continue authentication and `data`. Return the data for the
  // client's AUTH reply, or an error code to abandon the exchange (the session then
  // disconnects with that reason code, e.g. bad_authentication_method or not_authorized).
  virtual result<std::optional<bytes_view>, reason_code> challenge(
      std::optional<bytes_view> data) noexcept = 0;

  // The server accepted (CONNACK 0x00 or AUTH 0x00) with final `data`, if any. Returning an
  // error rejects the server's proof (the session disconnects with that reason code).
  virtual result<void, reason_code> finished(std::optional<bytes_view> data) noexcept = 0;
};

}  // namespace tern

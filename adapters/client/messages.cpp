// Value types of the client API: owned_message, property_list, message_info; and the
// thread-local record of which clients' turns this thread is in.
#include <algorithm>
#include <vector>

#include "client_impl.hpp"

namespace tern {

// ---- turns -----------------------------------------------------------------------------------

namespace {
thread_local std::vector<const void*> turns;  // innermost last
}  // namespace

namespace client_detail {

bool in_turn_of(const void* owner) noexcept {
  return std::find(turns.begin(), turns.end(), owner) != turns.end();
}

void push_turn(const void* owner) { turns.push_back(owner); }

void pop_turn() noexcept {
  if (!turns.empty()) turns.pop_back();
}

property_list copy_properties(const properties& props) {
  property_list out;
  for (const property p : props) {
    if (p.id == property_id::user_property) {
      out.add_user(p.text, p.value);
      continue;
    }
    if (!is_known(p.id)) continue;
    switch (type_of(p.id)) {
      case property_type::utf8_string: out.add(p.id, p.text); break;
      case property_type::binary_data: out.add_binary(p.id, p.binary()); break;
      default: out.add(p.id, p.number); break;
    }
  }
  return out;
}

}  // namespace client_detail

// ---- owned_message ---------------------------------------------------------------------------

owned_message owned_message::from(const publish& p) {
  owned_message m;
  m.topic.assign(p.topic);
  m.payload.assign(p.payload.begin(), p.payload.end());
  m.q = p.q;
  m.retain = p.retain;
  m.dup = p.dup;
  m.packet_id = p.packet_id;
  for (const property prop : p.props) {
    switch (prop.id) {
      case property_id::user_property:
        m.user_properties.emplace_back(std::string(prop.text), std::string(prop.value));
        break;
      case property_id::content_type: m.content_type.emplace(prop.text); break;
      case property_id::response_topic: m.response_topic.emplace(prop.text); break;
      case property_id::correlation_data: {
        const bytes_view b = prop.binary();
        m.correlation_data.emplace(b.begin(), b.end());
        break;
      }
      case property_id::message_expiry_interval: m.message_expiry_interval = prop.number; break;
      case property_id::payload_format_indicator:
        m.payload_format_indicator = static_cast<std::uint8_t>(prop.number);
        break;
      case property_id::subscription_identifier:
        m.subscription_identifiers.push_back(prop.number);
        break;
      default: break;
    }
  }
  return m;
}

// ---- property_list ---------------------------------------------------------------------------

property_list::property_list(const property_list& other) { *this = other; }

property_list& property_list::operator=(const property_list& other) {
  if (this == &other) return *this;
  std::vector<std::unique_ptr<std::string>> texts;
  std::vector<property> items;
  items.reserve(other.items_.size());
  auto own = [&texts](std::string_view s) -> std::string_view {
    if (s.empty()) return {};
    texts.push_back(std::make_unique<std::string>(s));
    return *texts.back();
  };
  for (property p : other.items_) {
    p.text = own(p.text);
    p.value = own(p.value);
    items.push_back(p);
  }
  texts_ = std::move(texts);
  items_ = std::move(items);
  return *this;
}

property_list& property_list::add(property_id id, std::uint32_t number) {
  items_.push_back(property::integer(id, number));
  return *this;
}

property_list& property_list::add(property_id id, std::string_view text) {
  texts_.push_back(std::make_unique<std::string>(text));
  items_.push_back(property::string(id, *texts_.back()));
  return *this;
}

property_list& property_list::add_binary(property_id id, bytes_view data) {
  texts_.push_back(std::make_unique<std::string>(as_chars(data)));
  items_.push_back(property::binary_data(id, as_bytes(*texts_.back())));
  return *this;
}

property_list& property_list::add_user(std::string_view name, std::string_view value) {
  texts_.push_back(std::make_unique<std::string>(name));
  const std::string_view n = *texts_.back();
  texts_.push_back(std::make_unique<std::string>(value));
  items_.push_back(property::user(n, *texts_.back()));
  return *this;
}

properties property_list::view() const noexcept { return properties(items_); }

// ---- message_info ----------------------------------------------------------------------------

message_id message_info::mid() const noexcept { return state_ ? state_->mid : 0; }

std::error_code message_info::rc() const noexcept {
  if (!state_) return make_error_code(errc::not_connected);
  const std::lock_guard<std::mutex> lock(state_->mu);
  return state_->rc;
}

bool message_info::is_published() const noexcept {
  if (!state_) return false;
  const std::lock_guard<std::mutex> lock(state_->mu);
  return state_->complete && !state_->rc &&
         (state_->outcome == publish_outcome::sent ||
          state_->outcome == publish_outcome::acknowledged) &&
         !is_failure(state_->reason);
}

bool message_info::wait_for_publish(std::optional<std::chrono::milliseconds> timeout) const {
  if (!state_) return false;
  // Inside the loop (a callback, or the thread running loop_read/...): waiting would stop the
  // very loop that completes the message.
  if (client_detail::in_turn_of(state_->owner)) return is_published();
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    const auto done = [this] { return state_->complete; };
    if (timeout) {
      if (!state_->cv.wait_for(lock, *timeout, done)) return false;
    } else {
      state_->cv.wait(lock, done);
    }
  }
  return is_published();
}

publish_outcome message_info::outcome() const noexcept {
  if (!state_) return publish_outcome::dropped;
  const std::lock_guard<std::mutex> lock(state_->mu);
  return state_->outcome;
}

reason_code message_info::reason() const noexcept {
  if (!state_) return reason_code::unspecified_error;
  const std::lock_guard<std::mutex> lock(state_->mu);
  return state_->reason;
}

}  // namespace tern

// Owned values of tern::asio (types.hpp).
#include "tern/asio/types.hpp"

namespace tern::asio {

owned_properties::owned_properties(const properties& from) {
  entries_.reserve(from.size());
  for (const property p : from)
    entries_.push_back({p.id, p.number, std::string(p.text), std::string(p.value)});
  rebuild();
}

owned_properties::owned_properties(const owned_properties& other) : entries_(other.entries_) {
  rebuild();
}

// A moved vector keeps its buffer, so the views (even into short strings, which live in the
// entries) stay valid and move along.
owned_properties::owned_properties(owned_properties&& other) noexcept
    : entries_(std::move(other.entries_)), items_(std::move(other.items_)) {
  other.entries_.clear();
  other.items_.clear();
}

owned_properties& owned_properties::operator=(const owned_properties& other) {
  if (this != &other) {
    entries_ = other.entries_;
    rebuild();
  }
  return *this;
}

owned_properties& owned_properties::operator=(owned_properties&& other) noexcept {
  if (this != &other) {
    entries_ = std::move(other.entries_);
    items_ = std::move(other.items_);
    other.entries_.clear();
    other.items_.clear();
  }
  return *this;
}

owned_properties& owned_properties::add(property_id id, std::uint32_t number) {
  entries_.push_back({id, number, {}, {}});
  rebuild();
  return *this;
}

owned_properties& owned_properties::add(property_id id, std::string_view text) {
  entries_.push_back({id, 0, std::string(text), {}});
  rebuild();
  return *this;
}

owned_properties& owned_properties::add_binary(property_id id, bytes_view data) {
  entries_.push_back({id, 0, std::string(as_chars(data)), {}});
  rebuild();
  return *this;
}

owned_properties& owned_properties::add_user(std::string_view name, std::string_view value) {
  entries_.push_back({property_id::user_property, 0, std::string(name), std::string(value)});
  rebuild();
  return *this;
}

// Views point into the entries' strings, which move when the vector grows (and short strings
// live inside the entry itself): every change rebuilds all of them.
void owned_properties::rebuild() {
  items_.clear();
  items_.reserve(entries_.size());
  for (const entry& e : entries_) items_.push_back({e.id, e.number, e.text, e.value});
}

}  // namespace tern::asio

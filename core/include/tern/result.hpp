// A small value-or-error type with std::expected's member names, for a core built without
// exceptions. Misusing it (value() on an error, error() on a value) is a programming error
// and aborts; it is never a way to report a failure.
#pragma once

#include <cstdlib>
#include <memory>
#include <type_traits>
#include <utility>

namespace tern {

#define TERN_ASSERT(cond)                 \
  do {                                    \
    if (!(cond)) [[unlikely]] std::abort(); \
  } while (false)

template <class E>
struct unexpected {
  constexpr explicit unexpected(E e) : error(std::move(e)) {}
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

// Holds either a T or an E. T may be void.
template <class T, class E>
class [[nodiscard]] result {
 public:
  using value_type = T;
  using error_type = E;

  template <class U = T>
    requires std::is_constructible_v<T, U&&>
  constexpr result(U&& v) : has_(true) {  // NOLINT(google-explicit-constructor)
    std::construct_at(&storage_.value, std::forward<U>(v));
  }
  template <class G>
  constexpr result(unexpected<G> e) : has_(false) {  // NOLINT(google-explicit-constructor)
    std::construct_at(&storage_.error, std::move(e.error));
  }
  constexpr result(const result& o) : has_(o.has_) {
    if (has_)
      std::construct_at(&storage_.value, o.storage_.value);
    else
      std::construct_at(&storage_.error, o.storage_.error);
  }
  constexpr result(result&& o) noexcept : has_(o.has_) {
    if (has_)
      std::construct_at(&storage_.value, std::move(o.storage_.value));
    else
      std::construct_at(&storage_.error, std::move(o.storage_.error));
  }
  constexpr result& operator=(result o) noexcept {
    destroy();
    has_ = o.has_;
    if (has_)
      std::construct_at(&storage_.value, std::move(o.storage_.value));
    else
      std::construct_at(&storage_.error, std::move(o.storage_.error));
    return *this;
  }
  constexpr ~result() { destroy(); }

  constexpr bool has_value() const noexcept { return has_; }
  constexpr explicit operator bool() const noexcept { return has_; }

  constexpr T& value() & {
    TERN_ASSERT(has_);
    return storage_.value;
  }
  constexpr const T& value() const& {
    TERN_ASSERT(has_);
    return storage_.value;
  }
  constexpr T&& value() && {
    TERN_ASSERT(has_);
    return std::move(storage_.value);
  }
  constexpr const E& error() const& {
    TERN_ASSERT(!has_);
    return storage_.error;
  }
  constexpr T& operator*() & { return value(); }
  constexpr const T& operator*() const& { return value(); }
  constexpr T&& operator*() && { return std::move(*this).value(); }
  constexpr T* operator->() { return &value(); }
  constexpr const T* operator->() const { return &value(); }

  template <class U>
  constexpr T value_or(U&& fallback) const& {
    return has_ ? storage_.value : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  constexpr void destroy() noexcept {
    if (has_)
      std::destroy_at(&storage_.value);
    else
      std::destroy_at(&storage_.error);
  }
  union storage {
    constexpr storage() noexcept : dummy() {}
    constexpr ~storage() {}
    char dummy;
    T value;
    E error;
  } storage_;
  bool has_;
};

template <class E>
class [[nodiscard]] result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr result() noexcept = default;
  template <class G>
  constexpr result(unexpected<G> e) : has_(false), error_(std::move(e.error)) {}  // NOLINT

  constexpr bool has_value() const noexcept { return has_; }
  constexpr explicit operator bool() const noexcept { return has_; }
  constexpr void value() const { TERN_ASSERT(has_); }
  constexpr const E& error() const& {
    TERN_ASSERT(!has_);
    return error_;
  }

 private:
  bool has_ = true;
  E error_{};
};

}  // namespace tern

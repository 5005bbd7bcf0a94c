#pragma once

#include <utility>
#include <variant>

namespace keyledger::domain {

/// A value or an error, returned instead of throwing (C++23's std::expected is not
/// available with GCC 12 in C++20 mode). Errors are plain values: enums or small structs.
template <class T, class E>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// Precondition: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }

  /// Precondition: !ok().
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace keyledger::domain

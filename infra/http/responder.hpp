#pragma once

// The callable that completes a request. Like std::function<void(http_response)>, but a
// callable of up to `inline_size` bytes (the server's own: a shared pointer and a number) is
// kept inside it whatever its type; std::function keeps only trivially copyable ones of 16
// bytes inline and allocates for the rest, once per request.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace keyledger::infra {

struct http_response;

class responder {
 public:
  static constexpr std::size_t inline_size = 32;

  responder() noexcept {}  // NOLINT(modernize-use-equals-default): const-constructible

  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, responder> &&
           std::is_invocable_v<std::remove_cvref_t<F>&, http_response&&>)
      responder(F&& f) {  // NOLINT(google-explicit-constructor): a lambda is a responder
    using stored = std::remove_cvref_t<F>;
    if constexpr (fits<stored>) {
      ::new (static_cast<void*>(storage_)) stored(std::forward<F>(f));
      ops_ = &inline_ops<stored>;
    } else {
      *reinterpret_cast<stored**>(storage_) = new stored(std::forward<F>(f));
      ops_ = &boxed_ops<stored>;
    }
  }

  responder(const responder& other) {
    // ops_ is set only once the copy exists: a copy that throws leaves this empty.
    if (other.ops_ != nullptr) {
      other.ops_->copy(storage_, other.storage_);
      ops_ = other.ops_;
    }
  }
  responder(responder&& other) noexcept : ops_(other.ops_) {
    if (ops_ != nullptr) ops_->move(storage_, other.storage_);
    other.ops_ = nullptr;
  }
  responder& operator=(const responder& other) {
    if (this != &other) {
      responder copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  responder& operator=(responder&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_ != nullptr) ops_->move(storage_, other.storage_);
      other.ops_ = nullptr;
    }
    return *this;
  }
  ~responder() { reset(); }

  /// Calls the callable (throws std::bad_function_call when there is none).
  void operator()(http_response response) const;
  explicit operator bool() const noexcept { return ops_ != nullptr; }

 private:
  struct operations {
    void (*call)(void* self, http_response&& response);
    void (*copy)(void* to, const void* from);
    void (*move)(void* to, void* from) noexcept;  ///< leaves `from` destroyed
    void (*destroy)(void* self) noexcept;
  };

  template <class T>
  static constexpr bool fits =
      sizeof(T) <= inline_size &&
      alignof(T) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<T>;

  template <class T>
  static constexpr operations inline_ops{
      [](void* self, http_response&& r) { (*static_cast<T*>(self))(std::move(r)); },
      [](void* to, const void* from) { ::new (to) T(*static_cast<const T*>(from)); },
      [](void* to, void* from) noexcept {
        ::new (to) T(std::move(*static_cast<T*>(from)));
        static_cast<T*>(from)->~T();
      },
      [](void* self) noexcept { static_cast<T*>(self)->~T(); },
  };

  template <class T>
  static constexpr operations boxed_ops{
      [](void* self, http_response&& r) { (**static_cast<T**>(self))(std::move(r)); },
      [](void* to, const void* from) {
        *static_cast<T**>(to) = new T(**static_cast<T* const*>(from));
      },
      [](void* to, void* from) noexcept {
        *static_cast<T**>(to) = *static_cast<T**>(from);
        *static_cast<T**>(from) = nullptr;
      },
      [](void* self) noexcept { delete *static_cast<T**>(self); },
  };

  void reset() noexcept {
    if (ops_ != nullptr) ops_->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(std::max_align_t) mutable unsigned char storage_[inline_size];
  const operations* ops_ = nullptr;
};

}  // namespace keyledger::infra

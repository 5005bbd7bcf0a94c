#include "infra/core/error.hpp"

#include <string>
#include <system_error>

namespace keyledger::infra {

namespace {

class keyledger_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "keyledger"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "ok";
      case errc::bad_request:
        return "bad request";
      case errc::unauthorized:
        return "unauthorized";
      case errc::forbidden:
        return "forbidden";
      case errc::not_found:
        return "not found";
      case errc::conflict:
        return "conflict";
      case errc::payload_too_large:
        return "payload too large";
      case errc::overloaded:
        return "overloaded";
      case errc::unavailable:
        return "unavailable";
      case errc::deadline_exceeded:
        return "deadline exceeded";
      case errc::config:
        return "configuration error";
      case errc::storage:
        return "storage error";
      case errc::internal:
        return "internal error";
    }
    return "unknown keyledger error";
  }
};

}  // namespace

const std::error_category& keyledger_category() noexcept {
  // A function-local static: one instance, so error_code comparisons by category address work.
  static const keyledger_error_category category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), keyledger_category()};
}

}  // namespace keyledger::infra

#pragma once

namespace keyledger::domain {

/// Builds one visitor from several lambdas, for std::visit over event and command variants:
/// a new alternative without a lambda is then a compile error, not a silent fall-through.
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace keyledger::domain

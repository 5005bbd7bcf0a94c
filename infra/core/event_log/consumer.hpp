#pragma once

// Consumers of the log: everything that follows it in global order - the in-memory
// projections, and later the postback dispatcher and the checkpoint signer - is one kind of
// thing, fed by a subscription (infra/pg/pg_subscription).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// The category of a stream: its id up to the first '-' ("api_key" of "api_key-key_1").
std::string_view category_of(std::string_view stream_id) noexcept;

/// Follows the log. `apply` is called on the subscription's thread, one event at a time, in
/// global order, with only the events of `categories()`. Delivery is at least once: after a
/// crash, a durable consumer is handed again what came after its last saved checkpoint, so
/// `apply` must be idempotent for it (an in-memory projection starts from the beginning).
class log_consumer {
 public:
  virtual ~log_consumer() = default;
  /// Stable and unique: the key of the consumer's durable checkpoint and its name in logs.
  virtual std::string_view name() const noexcept = 0;
  /// The stream categories it reads; empty: all of them.
  virtual std::span<const std::string_view> categories() const noexcept { return {}; }
  virtual void apply(const recorded_event& e) = 0;

  /// Whether `e`'s stream is one of categories().
  bool wants(const recorded_event& e) const noexcept;
};

/// Hands each event to its consumers in the order they were added (the directory before the
/// key view: the key view reads roles the directory has already applied), each filtered by its
/// own categories. Itself a consumer: it wants the union of what its consumers want.
class consumer_fan_out final : public log_consumer {
 public:
  explicit consumer_fan_out(std::string name) : name_(std::move(name)) {}

  /// Precondition: not yet subscribed; `c` outlives the fan-out.
  void add(log_consumer& c);

  std::string_view name() const noexcept override { return name_; }
  std::span<const std::string_view> categories() const noexcept override { return categories_; }
  void apply(const recorded_event& e) override;

 private:
  std::string name_;
  std::vector<log_consumer*> consumers_;
  std::vector<std::string_view> categories_;
  bool all_ = false;
};

}  // namespace keyledger::infra

#include "infra/core/event_log/consumer.hpp"

#include <algorithm>

namespace keyledger::infra {

std::string_view category_of(std::string_view stream_id) noexcept {
  return stream_id.substr(0, stream_id.find('-'));
}

bool log_consumer::wants(const recorded_event& e) const noexcept {
  const auto wanted = categories();
  if (wanted.empty()) return true;
  const auto category = category_of(e.stream_id);
  return std::find(wanted.begin(), wanted.end(), category) != wanted.end();
}

void consumer_fan_out::add(log_consumer& c) {
  consumers_.push_back(&c);
  const auto wanted = c.categories();
  if (wanted.empty()) all_ = true;
  if (all_) {
    categories_.clear();
    return;
  }
  for (const auto category : wanted) {
    if (std::find(categories_.begin(), categories_.end(), category) == categories_.end()) {
      categories_.push_back(category);
    }
  }
}

void consumer_fan_out::apply(const recorded_event& e) {
  for (auto* c : consumers_) {
    if (c->wants(e)) c->apply(e);
  }
}

}  // namespace keyledger::infra

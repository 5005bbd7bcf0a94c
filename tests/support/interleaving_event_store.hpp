#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "infra/core/event_store.hpp"

namespace keyledger::test_support {

/// Forwards to a shared event store (for code that wants a store of its own) and lets a test
/// step in: `interleave` runs once, just before the first append or append_all reaches the
/// inner store (another writer's command, so the decision meets a changed stream);
/// `after_append` runs after every append that returned. Thread-safe as far as the inner store
/// is and the hooks are not changed while it is used.
class interleaving_event_store final : public infra::event_store {
 public:
  explicit interleaving_event_store(infra::event_store& inner) : inner_(inner) {}

  std::function<void()> interleave;
  std::function<void()> after_append;

  infra::append_result append(std::string_view stream_id, std::uint64_t expected_version,
                              const std::vector<infra::new_event>& events,
                              const infra::event_metadata& metadata,
                              std::int64_t recorded_at_us) override {
    run_interleave();
    auto r = inner_.append(stream_id, expected_version, events, metadata, recorded_at_us);
    if (after_append) after_append();
    return r;
  }
  std::vector<infra::append_result> append_all(std::span<const infra::stream_append> items,
                                               const infra::event_metadata& metadata,
                                               std::int64_t recorded_at_us) override {
    run_interleave();
    auto r = inner_.append_all(items, metadata, recorded_at_us);
    if (after_append) after_append();
    return r;
  }
  std::vector<infra::recorded_event> read_stream(std::string_view stream_id) override {
    return inner_.read_stream(stream_id);
  }
  std::vector<infra::recorded_event> read_all(std::uint64_t after, std::size_t limit) override {
    return inner_.read_all(after, limit);
  }
  std::vector<infra::recorded_event> read_streams_until(std::span<const std::string> ids,
                                                        std::int64_t until_us) override {
    return inner_.read_streams_until(ids, until_us);
  }
  std::uint64_t head_seq() override { return inner_.head_seq(); }

 private:
  void run_interleave() {
    if (auto f = std::exchange(interleave, nullptr)) f();
  }

  infra::event_store& inner_;
};

}  // namespace keyledger::test_support

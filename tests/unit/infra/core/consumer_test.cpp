// Consumers of the log: categories, and the ordered fan-out that feeds the projections.
#include "infra/core/event_log/consumer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keyledger::infra {
namespace {

class recording_consumer final : public log_consumer {
 public:
  recording_consumer(std::string name, std::vector<std::string_view> categories,
                     std::vector<std::string>& journal)
      : name_(std::move(name)), categories_(std::move(categories)), journal_(journal) {}
  std::string_view name() const noexcept override { return name_; }
  std::span<const std::string_view> categories() const noexcept override { return categories_; }
  void apply(const recorded_event& e) override {
    journal_.push_back(name_ + ":" + std::to_string(e.global_seq));
  }

 private:
  std::string name_;
  std::vector<std::string_view> categories_;
  std::vector<std::string>& journal_;
};

recorded_event event(std::uint64_t seq, std::string stream) {
  recorded_event e;
  e.global_seq = seq;
  e.stream_id = std::move(stream);
  return e;
}

TEST(consumer, the_category_is_the_stream_id_up_to_the_first_dash) {
  EXPECT_EQ(category_of("api_key-key_1"), "api_key");
  EXPECT_EQ(category_of("workspace_members-ws-1"), "workspace_members");
  EXPECT_EQ(category_of("plain"), "plain");
  EXPECT_EQ(category_of(""), "");
}

TEST(consumer, fan_out_applies_in_order_added_each_filtered_by_its_categories) {
  std::vector<std::string> journal;
  recording_consumer people("people", {"user", "workspace_members"}, journal);
  recording_consumer everything("all", {}, journal);
  consumer_fan_out fan("projections");
  fan.add(people);
  fan.add(everything);
  EXPECT_TRUE(fan.categories().empty());  // one consumer wants everything: so does the fan-out
  for (const auto& e : {event(1, "user-usr_1"), event(2, "api_key-key_1"),
                        event(3, "workspace_members-ws_1")}) {
    if (fan.wants(e)) fan.apply(e);
  }
  EXPECT_EQ(journal, (std::vector<std::string>{"people:1", "all:1", "all:2", "people:3", "all:3"}));
}

TEST(consumer, fan_out_wants_the_union_of_its_consumers_categories) {
  std::vector<std::string> journal;
  recording_consumer a("a", {"user"}, journal);
  recording_consumer b("b", {"api_key", "user"}, journal);
  consumer_fan_out fan("f");
  fan.add(a);
  fan.add(b);
  EXPECT_EQ(std::vector<std::string_view>(fan.categories().begin(), fan.categories().end()),
            (std::vector<std::string_view>{"user", "api_key"}));
  EXPECT_FALSE(fan.wants(event(1, "workspace-ws_1")));
  EXPECT_TRUE(fan.wants(event(2, "api_key-key_2")));
}

}  // namespace
}  // namespace keyledger::infra

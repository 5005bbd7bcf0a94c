// Which events count at an instant: those recorded by then, each stream without holes, whatever
// writers' clocks said; and the view folded from them is the live view's own folding.
#include "services/app/key_replay.hpp"

#include <gtest/gtest.h>

#include "infra/json/event_codec.hpp"

namespace keyledger::services {
namespace {

using verdict = instant_filter::verdict;
using namespace std::chrono_literals;

const domain::timestamp t0 = domain::timestamp(std::chrono::seconds(1'800'000'000));

infra::recorded_event event(std::uint64_t seq, std::string stream, std::uint64_t version,
                            domain::timestamp recorded_at) {
  infra::recorded_event e;
  e.global_seq = seq;
  e.stream_id = std::move(stream);
  e.version = version;
  e.type = "T";
  e.payload = "{}";
  e.metadata = "{}";
  e.recorded_at_us = domain::to_micros(recorded_at);
  return e;
}

TEST(instant_filter, given_events_recorded_by_then_when_admitted_then_each_is_in) {
  instant_filter f(t0);
  EXPECT_EQ(f.admit(event(1, "a", 1, t0 - 2s)), verdict::admitted);
  EXPECT_EQ(f.admit(event(2, "b", 1, t0 - 1s)), verdict::admitted);
  EXPECT_EQ(f.admit(event(3, "a", 2, t0)), verdict::admitted) << "at the instant counts";
  EXPECT_EQ(f.admit(event(4, "a", 3, t0 + 1us)), verdict::after_instant);
  EXPECT_TRUE(f.incomplete_streams().empty());
}

TEST(instant_filter, given_a_clock_behind_when_a_later_version_looks_earlier_then_it_stays_out) {
  instant_filter f(t0);
  EXPECT_EQ(f.admit(event(1, "a", 1, t0 - 5s)), verdict::admitted);
  EXPECT_EQ(f.admit(event(2, "a", 2, t0 + 1s)), verdict::after_instant);
  // Another node's clock was behind: version 3 says it was recorded before as_of, but version 2
  // was not, so a state with 3 and without 2 never existed.
  EXPECT_EQ(f.admit(event(3, "a", 3, t0 - 1s)), verdict::after_instant);
  EXPECT_EQ(f.admit(event(4, "b", 1, t0 - 1s)), verdict::admitted) << "other streams go on";
}

TEST(instant_filter, given_a_missing_event_when_its_successor_comes_then_the_stream_is_incomplete) {
  instant_filter f(t0);
  EXPECT_EQ(f.admit(event(1, "a", 1, t0 - 5s)), verdict::admitted);
  EXPECT_EQ(f.admit(event(3, "a", 3, t0 - 3s)), verdict::incomplete);
  EXPECT_EQ(f.admit(event(4, "a", 4, t0 - 2s)), verdict::incomplete);
  EXPECT_EQ(f.admit(event(5, "b", 2, t0 - 1s)), verdict::incomplete) << "no version 1";
  EXPECT_EQ(f.incomplete_streams(), (std::vector<std::string>{"a", "b"}));
}

TEST(view_at, given_a_keys_events_when_folded_at_instants_then_each_state_is_that_instants) {
  domain::workspace_created w;
  w.workspace_id = "ws_8Jd2kP0qLm4nR7sT1vXy9b";
  w.name = "acme";
  w.key_prefix = "kl";
  w.created_at = t0 - 1h;
  domain::key_created k;
  k.key_id = "key_3hQ7mW0pZr9xKc2VbN5tLa";
  k.workspace_id = w.workspace_id;
  k.name = "ci";
  k.env = domain::environment::live;
  k.scopes = {"leads:read"};
  k.key_hash = std::string(64, 'a');
  k.start = "kl_live_AbC1";
  k.created_at = t0 - 30min;
  const domain::key_revoked r{k.key_id, t0};
  std::vector<infra::recorded_event> log{
      event(1, domain::workspace_stream_id(w.workspace_id), 1, w.created_at),
      event(2, domain::key_stream_id(k.key_id), 1, k.created_at),
      event(3, domain::key_stream_id(k.key_id), 2, r.revoked_at)};
  log[0].type = "WorkspaceCreated";
  log[0].payload = infra::encode_payload(domain::workspace_event{w});
  log[1].type = "KeyCreated";
  log[1].payload = infra::encode_payload(domain::api_key_event{k});
  log[2].type = "KeyRevoked";
  log[2].payload = infra::encode_payload(domain::api_key_event{r});

  const auto at = [&](domain::timestamp t) {
    instant_filter f(t);
    return view_at(log, f);
  };
  EXPECT_FALSE(at(w.created_at - 1us)->find_workspace(w.workspace_id));
  EXPECT_TRUE(at(w.created_at)->find_workspace(w.workspace_id));
  EXPECT_FALSE(at(k.created_at - 1us)->find_by_id(k.key_id));
  const auto active = at(t0 - 1us)->find_by_id(k.key_id);
  ASSERT_TRUE(active);
  EXPECT_EQ(active->status_at(t0 - 1us), domain::key_status::active);
  EXPECT_EQ(active->effective_scopes(), (std::vector<std::string>{"leads:read"}));
  const auto revoked = at(t0)->find_by_id(k.key_id);
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status_at(t0), domain::key_status::revoked);
}

}  // namespace
}  // namespace keyledger::services

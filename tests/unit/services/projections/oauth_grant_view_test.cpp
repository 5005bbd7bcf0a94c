// oauth_grant_view: a person's grants, the remembered consent and a client's grants read through
// their indexes - only that person's or that client's, live ones, in the documented order.
#include "services/projections/oauth_grant_view.hpp"

#include <gtest/gtest.h>

#include "infra/json/grant_codec.hpp"

namespace keyledger::services {
namespace {

namespace oauth = domain::oauth;

class oauth_grant_view_test : public ::testing::Test {
 protected:
  void apply(const oauth::grant_event& e, const std::string& grant_id) {
    infra::recorded_event r;
    r.global_seq = ++seq_;
    r.stream_id = oauth::grant_stream_id(grant_id);
    r.type = std::string(oauth::event_type(e));
    r.payload = infra::encode_payload(e);
    view_.apply(r);
  }
  void grant(const std::string& id, const std::string& user, const std::string& client,
             const std::string& ws, int minute) {
    apply(
        oauth::grant_created{
            id, client, user, ws, {"leads:read"}, domain::timestamp(std::chrono::minutes(minute))},
        id);
  }
  void revoke(const std::string& id) {
    apply(oauth::grant_revoked{id, "usr_a", domain::timestamp(std::chrono::hours(1))}, id);
  }
  static std::vector<std::string> ids(const std::vector<oauth::grant_state>& gs) {
    std::vector<std::string> out;
    for (const auto& g : gs) out.push_back(g.grant_id);
    return out;
  }

  oauth_grant_view view_;
  std::uint64_t seq_ = 0;
};

TEST_F(oauth_grant_view_test, reads_see_one_persons_or_one_clients_live_grants) {
  grant("grt_1", "usr_a", "cli_x", "ws_1", 1);
  grant("grt_2", "usr_b", "cli_x", "ws_1", 2);
  grant("grt_3", "usr_a", "cli_y", "ws_1", 3);
  grant("grt_4", "usr_a", "cli_x", "ws_2", 4);
  grant("grt_5", "usr_a", "cli_x", "ws_1", 5);  // a racing second consent: the older one wins
  revoke("grt_3");

  EXPECT_EQ(ids(view_.of_user("usr_a")), (std::vector<std::string>{"grt_5", "grt_4", "grt_1"}));
  EXPECT_EQ(ids(view_.of_user("usr_b")), (std::vector<std::string>{"grt_2"}));
  EXPECT_TRUE(view_.of_user("usr_c").empty());

  EXPECT_EQ(view_.find("usr_a", "cli_x", "ws_1")->grant_id, "grt_1");
  EXPECT_EQ(view_.find("usr_a", "cli_x", "ws_2")->grant_id, "grt_4");
  EXPECT_FALSE(view_.find("usr_a", "cli_y", "ws_1"));  // revoked
  EXPECT_FALSE(view_.find("usr_b", "cli_y", "ws_1"));
  revoke("grt_1");
  EXPECT_EQ(view_.find("usr_a", "cli_x", "ws_1")->grant_id, "grt_5");

  auto of_x = view_.grants_of_client("cli_x");
  std::sort(of_x.begin(), of_x.end());
  EXPECT_EQ(of_x, (std::vector<std::string>{"grt_2", "grt_4", "grt_5"}));
  EXPECT_TRUE(view_.grants_of_client("cli_y").empty());
  EXPECT_TRUE(view_.grants_of_client("cli_z").empty());
}

}  // namespace
}  // namespace keyledger::services

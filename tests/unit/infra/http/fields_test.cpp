// short_text and header_list (infra/http/fields.hpp): an answer's content type and header
// fields kept inside it, read back exactly as written, in order, inline or spilled to the heap.
#include "infra/http/fields.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keyledger::infra {
namespace {

TEST(short_text_test, given_short_and_long_texts_then_each_reads_back_as_assigned) {
  short_text t = "application/json";
  EXPECT_EQ(t, "application/json");
  EXPECT_EQ(t.size(), 16u);

  const std::string long_text(short_text::inline_capacity + 1, 'x');
  t = long_text;
  EXPECT_EQ(t.view(), long_text);

  t = "text/plain";  // back inline after a long one
  EXPECT_EQ(t, "text/plain");
  EXPECT_EQ(t.str(), "text/plain");

  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.view(), "");
}

TEST(short_text_test, given_a_copy_then_changing_one_leaves_the_other) {
  short_text a = "image/svg+xml";
  short_text b = a;
  b = "text/css; charset=utf-8";
  EXPECT_EQ(a, "image/svg+xml");
  EXPECT_EQ(b, "text/css; charset=utf-8");
}

TEST(short_text_test, given_a_view_of_itself_then_assignment_keeps_the_text) {
  short_text t = std::string(60, 'a') + "tail";
  t = t.view().substr(60);  // a view into its own heap text, short enough to go inline
  EXPECT_EQ(t, "tail");
}

TEST(header_list_test, given_fields_then_they_read_back_in_order_with_their_values) {
  header_list h;
  EXPECT_TRUE(h.empty());
  h.emplace_back("Cache-Control", "no-store");
  h.emplace_back("X-Keyledger-Key-Id", std::string("key_01HZX0000000000000000000"));
  h.emplace_back("Empty", "");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].first, "Cache-Control");
  EXPECT_EQ(h[0].second, "no-store");
  EXPECT_EQ(h[1].second, "key_01HZX0000000000000000000");
  EXPECT_EQ(h[2].first, "Empty");
  EXPECT_EQ(h[2].second, "");
  std::vector<std::string> names;
  for (const auto& [name, value] : h) names.emplace_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"Cache-Control", "X-Keyledger-Key-Id", "Empty"}));
}

TEST(header_list_test, given_a_name_in_any_case_then_find_returns_the_first_value) {
  header_list h{{"Retry-After", "1"}, {"retry-after", "2"}};
  EXPECT_EQ(h.find("RETRY-AFTER"), "1");
  EXPECT_TRUE(h.contains("retry-After"));
  EXPECT_EQ(h.find("Location"), "");
  EXPECT_FALSE(h.contains("Location"));
}

TEST(header_list_test, given_more_than_fits_inline_then_every_field_survives_the_spill) {
  header_list h;
  std::vector<std::pair<std::string, std::string>> want;
  for (std::size_t i = 0; i < header_list::inline_fields * 3; ++i) {
    want.emplace_back("X-Field-" + std::to_string(i),
                      std::string(40 + i, static_cast<char>('a' + i % 26)));
    h.emplace_back(want.back().first, want.back().second);
    ASSERT_EQ(h.size(), i + 1);
    for (std::size_t j = 0; j <= i; ++j) {
      ASSERT_EQ(h[j].first, want[j].first) << "after adding field " << i;
      ASSERT_EQ(h[j].second, want[j].second) << "after adding field " << i;
    }
  }
  // A copy is independent, and clear() starts over inline.
  header_list copy = h;
  h.clear();
  EXPECT_TRUE(h.empty());
  h.emplace_back("Only", "one");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].second, "one");
  ASSERT_EQ(copy.size(), want.size());
  EXPECT_EQ(copy[want.size() - 1].second, want.back().second);
}

TEST(header_list_test, given_a_value_read_from_the_list_itself_then_adding_it_copies_it_intact) {
  header_list h;
  h.emplace_back("Location", "/v1/keys/key_0123456789");
  // Re-adding views of its own text, also across the spill to the heap.
  for (int i = 0; i < 20; ++i) {
    const auto [name, value] = h[0];
    h.emplace_back(name, value);
  }
  for (const auto& [name, value] : h) {
    EXPECT_EQ(name, "Location");
    EXPECT_EQ(value, "/v1/keys/key_0123456789");
  }
}

TEST(header_list_test, given_parts_then_the_joined_field_holds_them_with_the_separator) {
  header_list h;
  h.emplace_back("Before", "x");
  h.emplace_back_joined("X-Keyledger-Scopes", std::vector<std::string>{"leads:read", "leads:write"},
                        ' ');
  h.emplace_back_joined("None", std::vector<std::string>{}, ' ');
  h.emplace_back_joined("Blank-First", std::vector<std::string>{"", "b"}, ',');
  h.emplace_back("After", "y");
  EXPECT_EQ(h.find("X-Keyledger-Scopes"), "leads:read leads:write");
  EXPECT_EQ(h.find("None"), "");
  EXPECT_EQ(h.find("Blank-First"), ",b");
  EXPECT_EQ(h.find("Before"), "x");
  EXPECT_EQ(h.find("After"), "y");
}

TEST(fields_move_test, given_moved_from_long_texts_and_lists_then_they_are_empty) {
  // Past the inline capacity, the text is on the heap: a moved-from one must not describe it.
  short_text t(std::string(short_text::inline_capacity + 20, 'a'));
  short_text moved(std::move(t));
  EXPECT_EQ(moved.size(), short_text::inline_capacity + 20);
  EXPECT_TRUE(t.empty());   // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(t.view(), "");  // NOLINT(bugprone-use-after-move)
  short_text assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.view(), std::string(short_text::inline_capacity + 20, 'a'));
  EXPECT_EQ(moved.view(), "");  // NOLINT(bugprone-use-after-move)

  header_list h;
  for (std::size_t i = 0; i < header_list::inline_fields + 3; ++i) {
    h.emplace_back("X-Field-" + std::to_string(i), "value");
  }
  header_list taken(std::move(h));
  EXPECT_EQ(taken.size(), header_list::inline_fields + 3);
  EXPECT_EQ(taken[header_list::inline_fields + 2].first, "X-Field-14");
  EXPECT_EQ(h.size(), 0u);        // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(h.begin(), h.end());  // NOLINT(bugprone-use-after-move)
  header_list again;
  again = std::move(taken);
  EXPECT_EQ(again.size(), header_list::inline_fields + 3);
  EXPECT_EQ(taken.size(), 0u);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace keyledger::infra

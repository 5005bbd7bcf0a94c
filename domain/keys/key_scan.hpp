#pragma once

// Finding keyledger keys in arbitrary text, offline, by their checksum: what `keyledger scan`
// runs over files and what keeps a leak report's URL from carrying a key into an event.

#include <cstddef>
#include <string_view>
#include <vector>

namespace keyledger::domain {

/// Where a well-formed key (valid CRC32 checksum) sits in a text.
struct found_key {
  std::size_t offset = 0;
  std::size_t length = 0;
};

/// Every well-formed key in `text`, in order, not overlapping: `<prefix>_<live|test>_` followed
/// by 38 base62 characters whose last 6 are the checksum (domain::parse_key), wherever it sits
/// (also inside a longer word, e.g. `TOKEN=kl_live_...` or `"xkl_live_..."`: the shortest
/// prefix ending at the `_` that makes the checksum match is taken). Pure; linear in the text's
/// length (a few candidates per "_live_" / "_test_").
std::vector<found_key> find_keys(std::string_view text);

/// Whether `text` contains a well-formed key anywhere.
bool contains_key(std::string_view text);

}  // namespace keyledger::domain

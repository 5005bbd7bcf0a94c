#pragma once

// The one cursor codec of every paged list (keys, a key's request log; later clients, grants,
// deliveries, audit events): a position (an instant or a number, then an id breaking ties) as
// opaque URL-safe text. Standard library only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyledger::domain {

/// Where a page ended: `at` (microseconds, a sequence number) and the id that breaks ties.
struct page_position {
  std::int64_t at = 0;
  std::string id;  ///< 1-64 characters of [A-Za-z0-9_]
};

/// base64url (no padding) of "<list>.<at>.<id>", or of "<at>.<id>" when `list` is "" (the key
/// list, whose cursors predate the others). `list` names the list, so that a cursor of one list
/// is refused by another.
std::string encode_page_cursor(std::string_view list, const page_position& p);

/// The position in a cursor made by encode_page_cursor for `list`; nullopt for anything else
/// (not base64url, another list, a non-canonical number, a bad id, longer than 256 characters).
std::optional<page_position> decode_page_cursor(std::string_view list, std::string_view text);

}  // namespace keyledger::domain

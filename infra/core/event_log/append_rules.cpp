#include "infra/core/event_log/append_rules.hpp"

#include <set>

namespace keyledger::infra {

namespace event_log {

bool is_storable_text(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    std::uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

}  // namespace event_log

using event_log::is_storable_text;

std::string validate_append(std::string_view stream_id, std::uint64_t expected_version,
                            std::span<const new_event> events, std::string_view metadata_json,
                            std::int64_t recorded_at_us) {
  if (events.empty()) return "no events to append";
  if (stream_id.empty() || !is_storable_text(stream_id)) {
    return "stream id is empty or not valid UTF-8 text";
  }
  constexpr auto max_version = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (expected_version > max_version - events.size()) return "expected version out of range";
  if (!event_log::is_storable_timestamp(recorded_at_us)) {
    return "recorded_at out of range";
  }
  if (!is_storable_text(metadata_json)) return "metadata is not valid UTF-8 text";
  for (std::size_t i = 0; i < events.size(); ++i) {
    const new_event& e = events[i];
    if (e.type.empty() || !is_storable_text(e.type)) {
      return "event " + std::to_string(i) + ": type is empty or not valid UTF-8 text";
    }
    if (!is_storable_text(e.payload)) {
      return "event " + std::to_string(i) + ": payload is not valid UTF-8 text (or holds NUL)";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (events[j].event_id == e.event_id) {
        return "event " + std::to_string(i) + ": event id repeated within the append";
      }
    }
  }
  return {};
}

std::string validate_append_all(std::span<const stream_append> items,
                                std::string_view metadata_json, std::int64_t recorded_at_us) {
  if (items.empty()) return "no streams to append to";
  std::set<uuid> ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const stream_append& item = items[i];
    if (std::string problem = validate_append(item.stream_id, item.expected_version, item.events,
                                              metadata_json, recorded_at_us);
        !problem.empty()) {
      return "item " + std::to_string(i) + ": " + problem;
    }
    for (const new_event& e : item.events) {
      if (!ids.insert(e.event_id).second) {
        return "item " + std::to_string(i) + ": event id repeated within the append";
      }
    }
  }
  return {};
}

}  // namespace keyledger::infra

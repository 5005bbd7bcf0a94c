#pragma once

// The web console's files (services/http/console/assets/), embedded at build time by
// embed_console.cmake: served at /console/ by console_routes, nothing fetched at run time.

#include <span>
#include <string_view>

namespace keyledger::services::http {

struct console_asset {
  std::string_view name;          ///< "index.html", "console.js", ...
  std::string_view content_type;  ///< with charset for text
  std::string_view bytes;
};

std::span<const console_asset> console_assets() noexcept;

}  // namespace keyledger::services::http

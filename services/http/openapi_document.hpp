#pragma once

#include <string_view>

namespace keyledger::services {

/// docs/openapi.json, byte for byte, embedded at build time (services/http/embed_openapi.cmake);
/// served at GET /openapi.json.
std::string_view openapi_document() noexcept;

}  // namespace keyledger::services

#include "services/app/event_sourcing.hpp"

#include <algorithm>

#include "infra/crypto/crypto.hpp"

namespace keyledger::services {

infra::uuid derived_event_id(std::string_view name) {
  const auto digest = infra::sha256(name);
  infra::uuid id{};
  std::copy_n(digest.begin(), id.size(), id.begin());
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0F) | 0x80);  // RFC 9562 version 8
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return id;
}

infra::event_metadata metadata_of(const request_context& ctx) {
  return {ctx.actor, ctx.request_id, ctx.source_ip, ctx.idempotency_key};
}

}  // namespace keyledger::services

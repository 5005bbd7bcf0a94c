#include "infra/core/event_log/chain.hpp"

#include <array>
#include <span>
#include <string_view>

#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {
namespace {

void put_be(sha256_hasher& h, std::uint64_t value, int bytes) {
  std::array<std::uint8_t, 8> buf{};
  for (int i = 0; i < bytes; ++i)
    buf[i] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
  h.update(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(bytes)));
}

void put_text(sha256_hasher& h, std::string_view text) {
  put_be(h, text.size(), 4);
  h.update(text);
}

}  // namespace


sha256_digest chain_hash(const sha256_digest& prev, const recorded_event& e) {
  sha256_hasher h;
  h.update(std::span<const std::uint8_t>(prev));
  put_be(h, e.global_seq, 8);
  put_text(h, e.stream_id);
  put_be(h, e.version, 8);
  h.update(std::span<const std::uint8_t>(e.event_id));
  put_text(h, e.type);
  put_text(h, e.payload);
  put_text(h, e.metadata);
  put_be(h, static_cast<std::uint64_t>(e.recorded_at_us), 8);
  return h.finish();
}

chain_verification verify_chain(event_store& store) {
  constexpr std::size_t batch = 1000;
  chain_verification out;
  sha256_digest prev{};
  std::uint64_t expected = 1;
  for (;;) {
    const auto events = store.read_all(expected - 1, batch);
    for (const auto& e : events) {
      if (e.global_seq != expected) {
        out.ok = false;
        out.first_bad_seq = expected;
        out.problem = "gap before seq " + std::to_string(e.global_seq);
        return out;
      }
      if (chain_hash(prev, e) != e.hash) {
        out.ok = false;
        out.first_bad_seq = e.global_seq;
        out.problem = "hash mismatch";
        return out;
      }
      prev = e.hash;
      ++expected;
      ++out.events_checked;
    }
    if (events.size() < batch) return out;
  }
}

}  // namespace keyledger::infra

#include "infra/core/event_log/chain.hpp"

#include <array>
#include <cstring>
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

// The bytes chain_hash digests, laid out in one buffer (`fits` first).
class chain_bytes {
 public:
  bool fits(std::size_t n) const noexcept { return size_ + n <= buffer_.size(); }
  void put(const void* data, std::size_t n) noexcept {
    std::memcpy(buffer_.data() + size_, data, n);
    size_ += n;
  }
  void put_be(std::uint64_t value, int bytes) noexcept {
    for (int i = 0; i < bytes; ++i) {
      buffer_[size_++] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
    }
  }
  void put_text(std::string_view text) noexcept {
    put_be(text.size(), 4);
    put(text.data(), text.size());
  }
  std::string_view bytes() const noexcept {
    return {reinterpret_cast<const char*>(buffer_.data()), size_};
  }

 private:
  std::array<std::uint8_t, 2048> buffer_;
  std::size_t size_ = 0;
};

}  // namespace

sha256_digest chain_hash(const sha256_digest& prev, const recorded_event& e) {
  // The usual event (under 2 KiB in all) is laid out on the stack and digested in one call (the
  // audit monitor hashes every event of the log at start-up); a bigger one is streamed. The
  // same bytes either way.
  const std::size_t fixed = prev.size() + 8 + 4 + 8 + e.event_id.size() + 4 + 4 + 4 + 8;
  chain_bytes b;
  if (b.fits(fixed + e.stream_id.size() + e.type.size() + e.payload.size() + e.metadata.size())) {
    b.put(prev.data(), prev.size());
    b.put_be(e.global_seq, 8);
    b.put_text(e.stream_id);
    b.put_be(e.version, 8);
    b.put(e.event_id.data(), e.event_id.size());
    b.put_text(e.type);
    b.put_text(e.payload);
    b.put_text(e.metadata);
    b.put_be(static_cast<std::uint64_t>(e.recorded_at_us), 8);
    return sha256(b.bytes());
  }
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

#include "infra/crypto/signed_note.hpp"

#include <span>
#include <utility>

#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {

namespace audit = domain::audit;

std::uint32_t note_key_id(std::string_view name, const ed25519_public_key& key) {
  return audit::key_id_of(
      sha256(audit::key_id_preimage(name, audit::ed25519_note_key_type, key.bytes())));
}

// ---- verifier --------------------------------------------------------------------------------

std::optional<note_verifier> note_verifier::create(std::string name, ed25519_public_key key) {
  if (!audit::valid_note_name(name)) return std::nullopt;
  const std::uint32_t id = note_key_id(name, key);
  return note_verifier(std::move(name), std::move(key), id);
}

std::optional<note_verifier> note_verifier::parse(std::string_view text) {
  auto parts = audit::parse_verifier_key(text);
  if (!parts || parts->type != audit::ed25519_note_key_type) return std::nullopt;
  const auto* raw = reinterpret_cast<const std::uint8_t*>(parts->public_key.data());
  auto key = ed25519_public_key::from_bytes(std::span(raw, parts->public_key.size()));
  if (!key) return std::nullopt;
  auto verifier = create(std::move(parts->name), std::move(*key));
  // The stated id must be the one the name and key make: a mistyped or spliced key is refused.
  if (!verifier || verifier->key_id() != parts->key_id) return std::nullopt;
  return verifier;
}

std::string note_verifier::to_string() const {
  const auto& raw = key_.bytes();
  return audit::format_verifier_key(
      {name_, key_id_, audit::ed25519_note_key_type,
       std::string(reinterpret_cast<const char*>(raw.data()), raw.size())});
}

// ---- notes -----------------------------------------------------------------------------------

domain::result<std::string, audit::note_refusal> sign_note(std::string_view text,
                                                           std::string_view key_name,
                                                           const ed25519_key& key) {
  // Check the text before signing it: format_note refuses what parse_note would.
  if (text.empty() || text.back() != '\n') return audit::note_refusal::bad_text;
  if (!audit::valid_note_name(key_name)) return audit::note_refusal::bad_signature_line;
  const ed25519_signature sig = key.sign(text);
  const audit::note_signature line{
      std::string(key_name), note_key_id(key_name, key.public_key()),
      std::string(reinterpret_cast<const char*>(sig.data()), sig.size())};
  return audit::format_note(text, std::span(&line, 1));
}

domain::result<std::string, audit::note_refusal> open_note(std::string_view note,
                                                           const note_verifier& verifier) {
  auto parsed = audit::parse_note(note);
  if (!parsed) return parsed.error();
  bool verified = false;
  for (const auto& s : parsed->signatures) {
    // C2SP: only the pair (name, id) identifies a key; sharing one of them is a stranger.
    if (s.key_name != verifier.name() || s.key_id != verifier.key_id()) continue;
    const auto* raw = reinterpret_cast<const std::uint8_t*>(s.signature.data());
    if (!verifier.key().verify(parsed->text, std::span(raw, s.signature.size()))) {
      return audit::note_refusal::bad_signature;
    }
    verified = true;
  }
  if (!verified) return audit::note_refusal::unknown_key;
  return std::move(parsed->text);
}

// ---- checkpoints -----------------------------------------------------------------------------

std::string_view to_string(const signed_checkpoint_refusal& r) noexcept {
  return std::visit([](auto reason) { return audit::to_string(reason); }, r);
}

domain::result<std::string, signed_checkpoint_refusal> sign_checkpoint(const audit::checkpoint& c,
                                                                       const ed25519_key& key) {
  auto text = audit::format_checkpoint(c);
  if (!text) return signed_checkpoint_refusal{text.error()};
  auto note = sign_note(text.value(), c.origin, key);
  if (!note) return signed_checkpoint_refusal{note.error()};
  return std::move(note).value();
}

domain::result<audit::checkpoint, signed_checkpoint_refusal> open_checkpoint(
    std::string_view note, const note_verifier& verifier) {
  auto text = open_note(note, verifier);
  if (!text) return signed_checkpoint_refusal{text.error()};
  auto c = audit::parse_checkpoint(text.value());
  if (!c) return signed_checkpoint_refusal{c.error()};
  if (c->origin != verifier.name()) {
    return signed_checkpoint_refusal{audit::checkpoint_refusal::bad_origin};
  }
  return std::move(c).value();
}

}  // namespace keyledger::infra

#pragma once

// Signed notes (c2sp.org/signed-note) with Ed25519 keys, and checkpoints (c2sp.org/tlog-checkpoint)
// signed as notes: the key ids (SHA-256), the signing and the checks. The formats themselves, and
// what each refusal means, are in domain/audit/checkpoint.hpp. Byte-compatible with
// golang.org/x/mod/sumdb/note: its documented example verifies here (tests).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "domain/audit/checkpoint.hpp"
#include "domain/result.hpp"
#include "infra/crypto/ed25519.hpp"

namespace keyledger::infra {

/// The signed-note key id of `key` under `name`: the first 4 bytes, big-endian, of
/// SHA-256(name || "\n" || 0x01 || 32-byte public key).
std::uint32_t note_key_id(std::string_view name, const ed25519_public_key& key);

/// What an auditor holds to check notes: a key name and an Ed25519 public key (and the key id
/// they make). Immutable; thread-safe.
class note_verifier {
 public:
  /// nullopt unless domain::audit::valid_note_name(name).
  static std::optional<note_verifier> create(std::string name, ed25519_public_key key);

  /// Reads a verifier key "<name>+<key id>+<base64(0x01 || public key)>" (as
  /// domain::audit::parse_verifier_key reads it): type 0x01, a 32-byte key, and the key id it
  /// states must be the one name and key make. nullopt for anything else.
  static std::optional<note_verifier> parse(std::string_view text);

  const std::string& name() const noexcept { return name_; }
  std::uint32_t key_id() const noexcept { return key_id_; }
  const ed25519_public_key& key() const noexcept { return key_; }

  /// The verifier key string parse() reads (what `keyledger audit public-key` prints).
  std::string to_string() const;

 private:
  note_verifier(std::string name, ed25519_public_key key, std::uint32_t key_id)
      : name_(std::move(name)), key_(std::move(key)), key_id_(key_id) {}
  std::string name_;
  ed25519_public_key key_;
  std::uint32_t key_id_;
};

/// `text` signed by `key` under `key_name`: text, a blank line, one signature line. Refused as
/// domain::audit::format_note refuses (a text not ending in "\n", control characters, a bad
/// name). Throws infra::error(errc::internal) should OpenSSL fail.
domain::result<std::string, domain::audit::note_refusal> sign_note(std::string_view text,
                                                                   std::string_view key_name,
                                                                   const ed25519_key& key);

/// The text of `note` once it is proven signed by `verifier`'s key. In this order: the note
/// parses (domain::audit::parse_note); at least one signature line carries the verifier's key
/// name AND key id (else unknown_key: a note by another key, or under another name, or with
/// another key id); every such line is a valid Ed25519 signature of the exact text bytes (else
/// bad_signature). Lines of other keys (witnesses, an older key) are ignored, as C2SP says.
domain::result<std::string, domain::audit::note_refusal> open_note(std::string_view note,
                                                                   const note_verifier& verifier);

/// Why a signed checkpoint was refused: its note, or its text.
using signed_checkpoint_refusal =
    std::variant<domain::audit::note_refusal, domain::audit::checkpoint_refusal>;
std::string_view to_string(const signed_checkpoint_refusal& r) noexcept;

/// The checkpoint as a note signed by `key` under the checkpoint's origin as key name.
domain::result<std::string, signed_checkpoint_refusal> sign_checkpoint(
    const domain::audit::checkpoint& c, const ed25519_key& key);

/// The checkpoint of a note that open_note accepts, whose text parse_checkpoint accepts, and
/// whose origin is the verifier's key name (else bad_origin: a checkpoint of another log).
domain::result<domain::audit::checkpoint, signed_checkpoint_refusal> open_checkpoint(
    std::string_view note, const note_verifier& verifier);

}  // namespace keyledger::infra

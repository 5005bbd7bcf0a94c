#pragma once

// Checkpoints of the audit log as signed notes (issue 9), byte for byte the C2SP formats
// (c2sp.org/tlog-checkpoint, c2sp.org/signed-note, as golang.org/x/mod/sumdb/note writes them),
// so that a third party can check one with any tlog library or a few lines of code. Pure:
// formatting and strict parsing. Key ids (SHA-256) and Ed25519 signatures are in
// infra/crypto/signed_note.
//
// A signed checkpoint:
//
//   keyledger.example.com/log            origin: the log's identity (and its key's name)
//   1234                                 tree size, decimal, no leading zeros ("0" if empty)
//   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=   root hash, standard base64 of 32 bytes
//   time 1767225600                      the one extension line: "time " + unix seconds
//                                        (decimal, no leading zeros) when it was signed
//                                        (blank line)
//   — keyledger.example.com/log BASE64   signature line: em dash U+2014, space, key name,
//                                        space, base64(4-byte key id || 64-byte signature)
//
// The first four lines (each ending in "\n") are the note text, the exact bytes signed. The
// key id is the first 4 bytes, big-endian, of SHA-256(key name || "\n" || 0x01 || 32-byte
// Ed25519 public key). A verifier key, which is all an auditor needs, is written
// "<key name>+<key id, 8 lowercase hex>+<base64(0x01 || public key)>".
//
// Parsing is strict: anything but exactly this shape is refused (no other extension line, no
// spaces at line ends, no "\r", no leading zeros, no size past 2^64 - 1, no root of another
// length, no non-canonical base64). A note may carry signatures by other keys (witnesses); they
// are parsed and left to the caller to ignore.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/audit/merkle.hpp"
#include "domain/result.hpp"

namespace keyledger::domain::audit {

// ---- names -----------------------------------------------------------------------------------

/// A signed-note key name, also required of a checkpoint origin: non-empty valid UTF-8, no
/// Unicode space (as Go's unicode.IsSpace), no '+', no control character.
bool valid_note_name(std::string_view name) noexcept;

// ---- the checkpoint (note text) -------------------------------------------------------------

/// A signed tree head of the log.
struct checkpoint {
  std::string origin;      ///< valid_note_name; the signing key's name is the same
  std::uint64_t size = 0;  ///< leaves (events) in the tree
  digest root{};           ///< MTH of the first `size` leaves
  std::int64_t time = 0;   ///< unix seconds when the checkpoint was made; >= 0
  bool operator==(const checkpoint&) const = default;
};

enum class checkpoint_refusal {
  bad_lines,   ///< not exactly four lines, each ending in "\n"
  bad_origin,  ///< not valid_note_name
  bad_size,    ///< not a decimal without leading zeros that fits 64 bits
  bad_root,    ///< not canonical standard base64 of exactly 32 bytes
  bad_time,    ///< not "time " and a non-negative decimal without leading zeros (64-bit signed)
};
std::string_view to_string(checkpoint_refusal r) noexcept;

/// "<origin>\n<size>\n<base64 root>\ntime <time>\n". Refused (bad_origin, bad_time) when the
/// origin is not a valid name or time is negative.
result<std::string, checkpoint_refusal> format_checkpoint(const checkpoint& c);

/// The checkpoint of a note text that is exactly what format_checkpoint writes.
result<checkpoint, checkpoint_refusal> parse_checkpoint(std::string_view text);

// ---- the signed note -------------------------------------------------------------------------

/// Limits of parse_note: C2SP requires accepting at least 16 signatures; golang.org/x/mod/sumdb
/// stops at 100. A checkpoint note is a few hundred bytes.
inline constexpr std::size_t max_note_signatures = 100;
inline constexpr std::size_t max_note_bytes = 64 * 1024;

/// One signature line, decoded.
struct note_signature {
  std::string key_name;
  std::uint32_t key_id = 0;
  std::string signature;  ///< the bytes after the key id (64 for Ed25519)
  bool operator==(const note_signature&) const = default;
};

/// A note split into its signed text and its signature lines (none verified yet).
struct signed_note {
  std::string text;  ///< the signed bytes: ends with "\n", excludes the blank line
  std::vector<note_signature> signatures;
  bool operator==(const signed_note&) const = default;
};

enum class note_refusal {
  too_large,            ///< over max_note_bytes
  bad_encoding,         ///< not valid UTF-8, or a control character other than "\n"
  bad_text,             ///< empty, or not ending in "\n" (format_note)
  no_signatures,        ///< no blank line followed by signature lines
  bad_signature_line,   ///< not "— <name> <base64>\n", a bad name, or fewer than 5 bytes
  too_many_signatures,  ///< over max_note_signatures
  unknown_key,          ///< no signature by the verifier's key name AND key id
  bad_signature,        ///< a signature by the verifier's key that does not verify
};
std::string_view to_string(note_refusal r) noexcept;

/// "— <key name> <base64(key id, 4 bytes big-endian || signature)>\n". Refused
/// (bad_signature_line) for an invalid name or an empty signature.
result<std::string, note_refusal> format_signature_line(const note_signature& s);

/// text + "\n" + one signature line each. The text must be non-empty, end in "\n", and be valid
/// UTF-8 without control characters but "\n"; at least one signature.
result<std::string, note_refusal> format_note(std::string_view text,
                                              std::span<const note_signature> signatures);

/// Splits a note as C2SP signed-note says: valid UTF-8 with no control character but "\n"; the
/// text is everything up to and including the newline before the LAST blank line; after it, one
/// or more signature lines and nothing else. Signatures are not verified here.
result<signed_note, note_refusal> parse_note(std::string_view note);

// ---- verifier keys -----------------------------------------------------------------------------

/// The signature type byte of Ed25519 signed-note keys (C2SP signed-note "Signature types").
inline constexpr std::uint8_t ed25519_note_key_type = 0x01;

/// A verifier key as written: name, key id, type byte and public key bytes.
struct verifier_key {
  std::string name;
  std::uint32_t key_id = 0;
  std::uint8_t type = ed25519_note_key_type;
  std::string public_key;  ///< 32 bytes for Ed25519
  bool operator==(const verifier_key&) const = default;
};

/// "<name>+<key id in 8 lowercase hex digits>+<base64(type || public key)>".
std::string format_verifier_key(const verifier_key& k);

/// The parts of a verifier key string: a valid name, exactly 8 lowercase hex digits, canonical
/// base64 of the type byte and at least one key byte. The key id is NOT checked against the key
/// here (that takes SHA-256: infra::parse_note_verifier does it). nullopt for anything else.
std::optional<verifier_key> parse_verifier_key(std::string_view text);

/// What SHA-256 hashes for a key id: name || "\n" || type || public key.
std::string key_id_preimage(std::string_view name, std::uint8_t type,
                            std::span<const std::uint8_t> public_key);

/// The key id of a SHA-256 of key_id_preimage: its first 4 bytes, big-endian.
std::uint32_t key_id_of(const digest& preimage_hash) noexcept;

}  // namespace keyledger::domain::audit

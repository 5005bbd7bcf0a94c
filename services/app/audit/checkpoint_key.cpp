#include "services/app/audit/checkpoint_key.hpp"

#include <span>
#include <utility>
#include <variant>

#include "infra/core/error.hpp"

namespace keyledger::services {
namespace {

namespace audit = domain::audit;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string refusal_text(const infra::signed_checkpoint_refusal& r, const std::string& name) {
  if (const auto* n = std::get_if<audit::note_refusal>(&r)) {
    if (*n == audit::note_refusal::unknown_key) return "not signed by the key of " + name;
    if (*n == audit::note_refusal::bad_signature) {
      return "the signature of " + name + " does not verify";
    }
    return "not a signed note (" + std::string(to_string(*n)) + ")";
  }
  const auto c = std::get<audit::checkpoint_refusal>(r);
  if (c == audit::checkpoint_refusal::bad_origin) return "a checkpoint of another log";
  return "not a checkpoint (" + std::string(to_string(c)) + ")";
}

}  // namespace

std::optional<std::string> verifier_key_of(const infra::checkpoint_key_row& row) {
  auto key = infra::ed25519_public_key::from_bytes(bytes_of(row.public_key));
  if (!key) return std::nullopt;
  auto v = infra::note_verifier::create(row.origin, std::move(*key));
  if (!v) return std::nullopt;
  return v->to_string();
}

std::string new_log_origin(domain::random_source& random) {
  return "keyledger/" + domain::new_id("log", random);
}

std::optional<checkpoint_verifier> checkpoint_verifier::parse(std::string_view text) {
  auto v = infra::note_verifier::parse(text);
  if (!v) return std::nullopt;
  return checkpoint_verifier(std::move(*v));
}

domain::result<audit::checkpoint, std::string> checkpoint_verifier::open(
    std::string_view note) const {
  auto c = infra::open_checkpoint(note, verifier_);
  if (!c) return refusal_text(c.error(), verifier_.name());
  return std::move(c.value());
}

checkpoint_key::checkpoint_key(std::string origin, infra::ed25519_key key)
    : origin_(std::move(origin)), key_(std::move(key)) {
  auto v = infra::note_verifier::create(origin_, key_.public_key());
  if (!v) throw infra::error(infra::errc::config, "the audit log origin is not a key name");
  verifier_key_ = v->to_string();
}

checkpoint_key checkpoint_key::load_or_create(infra::audit_store& store,
                                              const infra::response_sealer& sealer,
                                              std::string_view origin_if_new) {
  auto row = store.checkpoint_key();
  if (!row) {
    if (!audit::valid_note_name(origin_if_new)) {
      throw infra::error(infra::errc::config,
                         "the audit log origin must be a signed-note key name (no space, no +)");
    }
    auto fresh = infra::ed25519_key::generate();
    infra::checkpoint_key_row mine;
    mine.origin = std::string(origin_if_new);
    const auto& pk = fresh.public_key().bytes();
    mine.public_key.assign(reinterpret_cast<const char*>(pk.data()), pk.size());
    mine.sealed = sealer.seal(fresh.seed().reveal(), mine.origin);
    row = store.create_checkpoint_key(mine);
  }
  auto seed = sealer.open(row->sealed, row->origin);
  if (!seed) {
    throw infra::error(infra::errc::config,
                       "the audit checkpoint key does not open with this server secret");
  }
  auto key = infra::ed25519_key::from_seed(infra::secret(std::move(*seed)));
  if (!key || std::string_view(reinterpret_cast<const char*>(key->public_key().bytes().data()),
                               infra::ed25519_public_key_bytes) != row->public_key) {
    throw infra::error(infra::errc::config,
                       "the audit checkpoint key's seed does not match its public key");
  }
  return checkpoint_key(row->origin, std::move(*key));
}

std::string checkpoint_key::sign(const audit::checkpoint& c) const {
  if (c.origin != origin_)
    throw infra::error(infra::errc::internal, "checkpoint of another origin");
  auto note = infra::sign_checkpoint(c, key_);
  if (!note) throw infra::error(infra::errc::internal, "the checkpoint does not format");
  return std::move(note.value());
}

}  // namespace keyledger::services

#include "services/projections/key_entry.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "infra/crypto/crypto.hpp"

namespace keyledger::services {

namespace {

std::int64_t micros(domain::timestamp t) noexcept { return t.time_since_epoch().count(); }

}  // namespace

key_entry::key_entry(const domain::api_key_state& s, std::shared_ptr<const key_profile> profile,
                     const infra::sha256_digest& digest)
    : digest_(digest),
      profile_(std::move(profile)),
      name_(s.name),
      start_(s.start),
      created_us_(micros(s.created_at)),
      expires_us_(s.expires_at ? micros(*s.expires_at) : none),
      revoked_us_(s.revoked_at ? micros(*s.revoked_at) : none),
      version_(s.version),
      env_(s.env),
      enabled_(s.enabled),
      off_the_record_(s.off_the_record),
      expiry_recorded_(s.expiry_recorded) {
  key_rare_fields rare;
  set_key_id(s.key_id, rare);
  rare.postback_url = s.postback_url;
  rare.rotated_from = s.rotated_from;
  rare.rotated_to = s.rotated_to;
  rare.expiry_warned_for = s.expiry_warned_for;
  rare.expiry_warned_days = s.expiry_warned_days;
  rare.updated_at = s.updated_at;
  rare.leaked_at = s.leaked_at;
  if (!rare.empty()) rare_ = std::make_shared<const key_rare_fields>(std::move(rare));
}

key_entry::key_entry(const domain::key_created& c, std::shared_ptr<const key_profile> profile,
                     const infra::sha256_digest& digest)
    : digest_(digest),
      profile_(std::move(profile)),
      name_(c.name),
      start_(c.start),
      created_us_(micros(c.created_at)),
      expires_us_(c.expires_at ? micros(*c.expires_at) : none),
      // What domain::evolve makes of a creation: version 1, not revoked, no expiry recorded.
      version_(1),
      env_(c.env),
      enabled_(c.enabled),
      off_the_record_(c.off_the_record),
      expiry_recorded_(false) {
  key_rare_fields rare;
  set_key_id(c.key_id, rare);
  // A creation sets none of the other rare fields (rotated_to, warnings, update and leak times).
  rare.postback_url = c.postback_url;
  rare.rotated_from = c.rotated_from;
  if (!rare.empty()) rare_ = std::make_shared<const key_rare_fields>(std::move(rare));
}

void key_entry::set_key_id(std::string_view key_id, key_rare_fields& rare) {
  if (key_id.size() <= inline_id_capacity) {
    std::memcpy(id_, key_id.data(), key_id.size());
    id_length_ = static_cast<std::uint8_t>(key_id.size());
  } else {
    rare.long_key_id = std::string(key_id);
    id_length_ = inline_id_capacity + 1;
  }
}

bool key_entry::has_scope(std::string_view scope) const noexcept {
  const auto& scopes = effective_scopes();
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

domain::key_status key_entry::status_at(domain::timestamp now) const noexcept {
  // api_key_state::status_at on the compact fields, then the owner's standing.
  if (revoked_us_ != none) return domain::key_status::revoked;
  if (expires_us_ != none && at(expires_us_) <= now) return domain::key_status::expired;
  if (!enabled_ || owner_removed()) return domain::key_status::disabled;
  return domain::key_status::active;
}

domain::api_key_state key_entry::state() const {
  domain::api_key_state s;
  s.version = version_;
  s.exists = true;
  s.key_id = std::string(key_id());
  s.workspace_id = profile_->workspace_id;
  s.name = name_;
  s.env = env_;
  s.scopes = profile_->scopes;
  s.key_hash = infra::to_hex(digest_);
  s.start = start_;
  s.created_at = created_at();
  s.expires_at = expires_at();
  s.allowed_cidrs = profile_->allowed_cidr_texts;
  s.off_the_record = off_the_record_;
  s.enabled = enabled_;
  s.limit = profile_->limit;
  s.owner_user_id = profile_->owner_user_id;
  s.revoked_at = revoked_at();
  s.expiry_recorded = expiry_recorded_;
  if (rare_) {
    s.postback_url = rare_->postback_url;
    s.rotated_from = rare_->rotated_from;
    s.rotated_to = rare_->rotated_to;
    s.expiry_warned_for = rare_->expiry_warned_for;
    s.expiry_warned_days = rare_->expiry_warned_days;
    s.updated_at = rare_->updated_at;
    s.leaked_at = rare_->leaked_at;
  }
  return s;
}

key_entry key_entry::with_profile(std::shared_ptr<const key_profile> profile) const {
  key_entry copy = *this;
  copy.profile_ = std::move(profile);
  return copy;
}

}  // namespace keyledger::services

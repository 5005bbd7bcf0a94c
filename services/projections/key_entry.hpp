#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/keys/api_key.hpp"
#include "domain/net.hpp"
#include "domain/people/user.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::services {

/// What many keys share, interned by the key view (a million keys have a few hundred of these:
/// 100 workspaces, their owners, a few scope sets, CIDR lists and limits): the workspace and
/// owner, the declared and the effective scopes, the CIDRs (text and parsed), the rate limit and
/// the owner's standing. Immutable.
struct key_profile {
  std::string workspace_id;
  std::string owner_user_id;                  ///< "" for keys from before owners existed
  std::vector<std::string> scopes;            ///< as declared (api_key_state::scopes)
  std::vector<std::string> effective_scopes;  ///< see key_entry::effective_scopes
  std::vector<std::string> allowed_cidr_texts;
  std::vector<domain::cidr> allowed_cidrs;  ///< parsed allowed_cidr_texts
  std::optional<domain::rate_limit> limit;
  std::optional<domain::role> owner_role;
  bool owner_removed = false;
};

/// What few keys have (rotation links, a postback URL, leak and warning times, an id too long
/// to keep inline): kept apart so that the other keys pay 16 bytes for none of it. Immutable.
struct key_rare_fields {
  std::string long_key_id;  ///< the id when longer than key_entry::inline_id_capacity
  std::string postback_url;
  std::string rotated_from;
  std::string rotated_to;
  std::optional<domain::timestamp> expiry_warned_for;
  int expiry_warned_days = 0;
  std::optional<domain::timestamp> updated_at;
  std::optional<domain::timestamp> leaked_at;

  bool empty() const noexcept {
    return long_key_id.empty() && postback_url.empty() && rotated_from.empty() &&
           rotated_to.empty() && !expiry_warned_for && expiry_warned_days == 0 && !updated_at &&
           !leaked_at;
  }
};

/// What the node knows about one key, compactly (about 200 bytes: docs/performance.md "A million
/// keys"): its folded state plus what verification needs precomputed (parsed CIDRs, effective
/// scopes). Immutable once published: every change publishes a new entry, so readers hold a
/// consistent snapshot (a shared_ptr) without a lock. The accessors are what the hot paths read;
/// state() rebuilds the whole domain::api_key_state for the others (it allocates).
struct key_entry {
  /// Ids up to this length are kept in the entry itself (key ids have 26 characters).
  static constexpr std::size_t inline_id_capacity = 30;

  /// The compact form of `state` (which must exist) with the shared parts and the digest of its
  /// key_hash; the view builds profiles and checks the hash before.
  key_entry(const domain::api_key_state& state, std::shared_ptr<const key_profile> profile,
            const infra::sha256_digest& digest);
  /// The key as its creation makes it: the same entry as from domain::evolve of an empty state
  /// with `created`, without folding a whole api_key_state first (a start-up builds a million
  /// of these). `profile` holds created's workspace, owner, scopes, CIDRs and limit.
  key_entry(const domain::key_created& created, std::shared_ptr<const key_profile> profile,
            const infra::sha256_digest& digest);

  std::string_view key_id() const noexcept {
    return id_length_ <= inline_id_capacity ? std::string_view(id_, id_length_)
                                            : std::string_view(rare_->long_key_id);
  }
  const std::string& workspace_id() const noexcept { return profile_->workspace_id; }
  const std::string& owner_user_id() const noexcept { return profile_->owner_user_id; }
  const std::string& name() const noexcept { return name_; }
  const std::string& start() const noexcept { return start_; }
  domain::environment env() const noexcept { return env_; }
  bool enabled() const noexcept { return enabled_; }
  bool off_the_record() const noexcept { return off_the_record_; }
  bool expiry_recorded() const noexcept { return expiry_recorded_; }
  const std::optional<domain::rate_limit>& limit() const noexcept { return profile_->limit; }
  /// The keyed hash as raw bytes (sensitive: never logged).
  const infra::sha256_digest& digest() const noexcept { return digest_; }
  domain::timestamp created_at() const noexcept { return at(created_us_); }
  std::optional<domain::timestamp> expires_at() const noexcept { return optional_at(expires_us_); }
  std::optional<domain::timestamp> revoked_at() const noexcept { return optional_at(revoked_us_); }
  /// "" when not set.
  std::string_view postback_url() const noexcept {
    return rare_ ? std::string_view(rare_->postback_url) : std::string_view();
  }
  std::string_view rotated_from() const noexcept {
    return rare_ ? std::string_view(rare_->rotated_from) : std::string_view();
  }
  std::string_view rotated_to() const noexcept {
    return rare_ ? std::string_view(rare_->rotated_to) : std::string_view();
  }

  /// Declared scopes.
  const std::vector<std::string>& scopes() const noexcept { return profile_->scopes; }
  /// scopes() intersected with what the owner's role allows NOW (domain::effective_scopes with
  /// the workspace's catalog); scopes() for an ownerless (pre-owner) key. Recomputed and
  /// republished when the owner's role, membership or the catalog changes.
  const std::vector<std::string>& effective_scopes() const noexcept {
    return profile_->effective_scopes;
  }
  /// Parsed allowed CIDRs (empty: any address).
  const std::vector<domain::cidr>& allowed_cidrs() const noexcept {
    return profile_->allowed_cidrs;
  }
  /// nullopt for ownerless keys and removed owners.
  std::optional<domain::role> owner_role() const noexcept { return profile_->owner_role; }
  /// The owner is no longer a member of the workspace: the key is refused as DISABLED and the
  /// key list says why (disabled_reason "owner_removed").
  bool owner_removed() const noexcept { return profile_->owner_removed; }
  const key_profile& profile() const noexcept { return *profile_; }

  /// Against effective_scopes().
  bool has_scope(std::string_view scope) const noexcept;
  /// api_key_state::status_at, except that an active key whose owner was removed is disabled.
  domain::key_status status_at(domain::timestamp now) const noexcept;

  /// The whole folded state, rebuilt (allocates: for listing, GET /v1/keys/{id}, replays).
  domain::api_key_state state() const;

  /// The same key under another profile (a republication after a role or catalog change).
  key_entry with_profile(std::shared_ptr<const key_profile> profile) const;

 private:
  static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::min();
  // The id inline, or in `rare` when longer than inline_id_capacity.
  void set_key_id(std::string_view key_id, key_rare_fields& rare);
  static domain::timestamp at(std::int64_t us) noexcept {
    return domain::timestamp(std::chrono::microseconds(us));
  }
  static std::optional<domain::timestamp> optional_at(std::int64_t us) noexcept {
    if (us == none) return std::nullopt;
    return at(us);
  }

  infra::sha256_digest digest_{};
  std::shared_ptr<const key_profile> profile_;
  std::shared_ptr<const key_rare_fields> rare_;  // null when every rare field is unset
  std::string name_;
  std::string start_;
  std::int64_t created_us_ = 0;
  std::int64_t expires_us_ = none;
  std::int64_t revoked_us_ = none;
  std::uint64_t version_ = 0;
  char id_[inline_id_capacity] = {};
  std::uint8_t id_length_ = 0;
  domain::environment env_ = domain::environment::test;
  bool enabled_ = true;
  bool off_the_record_ = false;
  bool expiry_recorded_ = false;
};

}  // namespace keyledger::services

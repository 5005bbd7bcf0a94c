#include "services/app/user_service.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>
#include <variant>

#include "domain/keys/key_format.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/crypto/password.hpp"
#include "infra/json/user_codec.hpp"
#include "services/app/command_executor.hpp"
#include "services/app/event_sourcing.hpp"
#include "services/projections/directory_view.hpp"

namespace keyledger::services {
namespace {

/// Length of the owner password that bootstrap generates (base62: ~143 bits).
constexpr std::size_t bootstrap_password_length = 24;
/// The display name of a bootstrapped owner (bootstrap is given an email only).
constexpr std::string_view bootstrap_display_name = "Owner";
/// Above this many login counters, a failed login first drops the counters of past windows:
/// attacker-chosen emails must not grow memory without bound.
constexpr std::size_t max_login_counters = 50'000;

infra::uuid registration_event_id(std::string_view normalized_email) {
  return derived_event_id("keyledger/user-email/" + std::string(normalized_email));
}

domain::user_state load_user(infra::event_store& store, std::string_view user_id) {
  return fold_stream<domain::user_state>(store, domain::user_stream_id(user_id),
                                         infra::decode_user_event);
}

domain::membership_state load_members(infra::event_store& store, std::string_view workspace_id) {
  return fold_stream<domain::membership_state>(store, domain::members_stream_id(workspace_id),
                                               infra::decode_member_event);
}

/// The user registered by the event at `global_seq` (a UserRegistered found by its derived id).
std::string registered_user_at(infra::event_store& store, std::uint64_t global_seq) {
  const auto found = store.read_all(global_seq - 1, 1);
  if (found.size() == 1 && found.front().global_seq == global_seq) {
    const auto event = infra::decode_user_event(found.front().type, found.front().payload);
    if (event && std::holds_alternative<domain::user_registered>(*event)) {
      return std::get<domain::user_registered>(*event).user_id;
    }
  }
  throw infra::error(infra::errc::storage, "no UserRegistered at global_seq " +
                                               std::to_string(global_seq) + " for its event id");
}

user_error to_user_error(domain::member_rejection r) noexcept {
  using domain::member_rejection;
  switch (r) {
    case member_rejection::user_already_exists:
    case member_rejection::member_already_exists:
      return user_error::already_member;
    case member_rejection::user_not_found:
    case member_rejection::member_not_found:
    case member_rejection::invalid_user_id:
    case member_rejection::invalid_workspace_id:
      return user_error::not_found;
    case member_rejection::invalid_email:
      return user_error::invalid_email;
    case member_rejection::invalid_display_name:
      return user_error::invalid_display_name;
    case member_rejection::invalid_role:
    case member_rejection::first_member_not_owner:
      return user_error::invalid_role;
    case member_rejection::invalid_actor:
      // Not a user (an ownerless legacy key): people are managed by people.
      return user_error::forbidden;
    case member_rejection::last_owner:
      return user_error::last_owner;
    case member_rejection::invalid_invite_expiry:
      return user_error::invalid_token;
  }
  return user_error::forbidden;
}

/// HMAC-SHA256(token_key, token) in hex: the only form in which a set-password token is stored.
std::string token_hash(const infra::secret& token_key, std::string_view token) {
  const infra::hmac_key_hasher hasher(infra::secret(std::string(token_key.reveal())));
  return hasher.hash_hex(token);
}

/// `length` base62 characters from `random`, each uniform (rejection sampling: 248 = 4 * 62).
std::string random_base62(domain::random_source& random, std::size_t length) {
  std::string out;
  out.reserve(length);
  std::array<std::uint8_t, 32> bytes{};
  while (out.size() < length) {
    random.fill(bytes);
    for (std::uint8_t b : bytes) {
      if (b >= 248) continue;
      out.push_back(domain::base62_alphabet[b % 62]);
      if (out.size() == length) break;
    }
  }
  std::fill(bytes.begin(), bytes.end(), std::uint8_t{0});
  return out;
}

/// The principal with the role it has in the freshly loaded membership (the directory view it
/// was built from may be a few events behind: a demoted or removed actor loses rights at once).
/// A legacy ownerless key keeps its implicit role.
principal as_of(const principal& actor, const domain::membership_state& members) {
  principal current = actor;
  if (!actor.user_id.empty()) current.member_role = members.role_of(actor.user_id);
  return current;
}

constexpr std::string_view users_write_scope = "users:write";

}  // namespace

std::string_view to_string(user_error e) noexcept {
  switch (e) {
    case user_error::forbidden:
      return "forbidden";
    case user_error::not_found:
      return "not_found";
    case user_error::invalid_email:
      return "invalid_email";
    case user_error::invalid_display_name:
      return "invalid_display_name";
    case user_error::invalid_role:
      return "invalid_role";
    case user_error::already_member:
      return "already_member";
    case user_error::last_owner:
      return "last_owner";
    case user_error::invalid_token:
      return "invalid_token";
    case user_error::weak_password:
      return "weak_password";
    case user_error::bad_credentials:
      return "bad_credentials";
    case user_error::choose_workspace:
      return "choose_workspace";
    case user_error::throttled:
      return "throttled";
  }
  return "";
}

user_service::user_service(infra::secret token_key, infra::secret csrf_key,
                           domain::random_source& random, const domain::clock& clock, options opts)
    : token_key_(std::move(token_key)),
      csrf_key_(std::move(csrf_key)),
      random_(random),
      clock_(clock),
      options_(opts) {}

domain::result<invitation, user_error> user_service::invite(
    infra::event_store& store, infra::people_store& people, const principal& actor,
    std::string_view email, std::string_view display_name, domain::role role,
    const request_context& ctx) const {
  if (!may(actor, domain::action::users_invite, users_write_scope)) return user_error::forbidden;
  if (!domain::valid_role(role)) return user_error::invalid_role;
  const auto now = clock_.now();
  const std::string& workspace_id = actor.workspace_id;
  const auto members = load_members(store, workspace_id);
  const auto current = as_of(actor, members);
  const auto actor_role = current.effective_role();
  if (!may(current, domain::action::users_invite, users_write_scope) ||
      !domain::may_invite(*actor_role, role)) {
    return user_error::forbidden;
  }

  // Registration of a new user, decided for a fresh id: the domain normalises and validates.
  const std::string fresh_id = domain::new_id(domain::user_id_tag, random_);
  auto registered = domain::decide(
      domain::user_state{},
      domain::register_user{fresh_id, std::string(email), std::string(display_name), now});
  if (!registered) return to_user_error(registered.error());
  const auto& registration = std::get<domain::user_registered>(registered->front());

  const domain::timestamp expires_at = now + options_.invitation_lifetime;
  auto invited = domain::decide(
      members, domain::invite_member{workspace_id, fresh_id, role, actor.user_id, expires_at, now});
  if (!invited) return to_user_error(invited.error());

  // The token is stored (as a keyed hash) before the invitation is appended: if the append
  // fails, the row names nobody who became a member, and the token never left the process.
  infra::secret token(domain::new_session_token(random_));
  const std::string hash = token_hash(token_key_, token.reveal());
  people.add_invitation({hash, fresh_id, workspace_id, domain::to_micros(expires_at)});
  const auto drop_invitation = [&](const std::string& user_id) noexcept {
    try {
      people.delete_invitations(user_id, workspace_id);
    } catch (...) {
      // Best effort: an orphaned row expires and is purged; its token was never handed out.
    }
  };

  const std::vector<infra::new_event> user_events{
      encode_event(registration, registration_event_id(registration.email))};
  const auto member_events = encode_events(invited.value(), random_);
  const auto user_stream = domain::user_stream_id(fresh_id);
  const auto members_stream = domain::members_stream_id(workspace_id);
  std::vector<infra::append_result> positions;
  try {
    // A new user and their membership in one transaction.
    const std::array<infra::stream_append, 2> items{
        infra::stream_append{user_stream, 0, user_events},
        infra::stream_append{members_stream, members.version, member_events}};
    positions = store.append_all(items, metadata_of(ctx), domain::to_micros(now));
  } catch (...) {
    drop_invitation(fresh_id);
    throw;
  }
  if (!positions.front().duplicate) {
    return invitation{fresh_id, role, std::move(token), expires_at,
                      std::max(positions.front().last_seq, positions.back().last_seq)};
  }

  // The email belongs to a user already: invite that user instead of the fresh id.
  drop_invitation(fresh_id);
  const std::string user_id = registered_user_at(store, positions.front().first_seq);
  if (members.role_of(user_id)) return user_error::already_member;
  // Someone who set a password already (through another workspace) logs in with it: no token
  // is issued, so an admin of one workspace can never set the password of a member of another.
  const bool has_password = people.password_hash(user_id).has_value();
  std::optional<domain::timestamp> token_expiry;
  if (!has_password) token_expiry = expires_at;
  auto invited_existing = domain::decide(
      members,
      domain::invite_member{workspace_id, user_id, role, actor.user_id, token_expiry, now});
  if (!invited_existing) return to_user_error(invited_existing.error());
  if (has_password) {
    token = infra::secret();
  } else {
    people.add_invitation({hash, user_id, workspace_id, domain::to_micros(expires_at)});
  }
  try {
    const auto position = store.append(members_stream, members.version,
                                       encode_events(invited_existing.value(), random_),
                                       metadata_of(ctx), domain::to_micros(now));
    return invitation{user_id, role, std::move(token),
                      has_password ? domain::timestamp{} : expires_at, position.last_seq};
  } catch (...) {
    if (!has_password) drop_invitation(user_id);
    throw;
  }
}

domain::result<std::uint64_t, user_error> user_service::change_role(
    infra::event_store& store, infra::people_store& people, const principal& actor,
    std::string_view user_id, domain::role role, const request_context& ctx) const {
  if (!may(actor, domain::action::users_change_role, users_write_scope)) {
    return user_error::forbidden;
  }
  if (!domain::valid_role(role)) return user_error::invalid_role;
  if (!domain::valid_user_id(user_id)) return user_error::not_found;
  const auto now = clock_.now();
  const std::string& workspace_id = actor.workspace_id;
  const auto members = load_members(store, workspace_id);
  const auto target_role = members.role_of(user_id);
  if (!target_role) return user_error::not_found;
  const auto current = as_of(actor, members);
  if (!may(current, domain::action::users_change_role, users_write_scope) ||
      !domain::may_change_role(*current.effective_role(), *target_role, role)) {
    return user_error::forbidden;
  }
  auto done = execute(
      store, domain::members_stream_id(workspace_id), members,
      [&](const domain::membership_state& m) {
        return domain::decide(m, domain::change_member_role{workspace_id, std::string(user_id),
                                                            role, actor.user_id, now});
      },
      ctx, random_, now);
  if (!done) return to_user_error(done.error());
  if (done->position.last_seq == 0) return std::uint64_t{0};
  const auto& position = done->position;
  // Their sessions carried the old role; they log in again with the new one.
  people.delete_sessions(user_id, workspace_id);
  return position.last_seq;
}

domain::result<std::uint64_t, user_error> user_service::remove(infra::event_store& store,
                                                               infra::people_store& people,
                                                               const principal& actor,
                                                               std::string_view user_id,
                                                               const request_context& ctx) const {
  if (!may(actor, domain::action::users_remove, users_write_scope)) return user_error::forbidden;
  if (!domain::valid_user_id(user_id)) return user_error::not_found;
  const auto now = clock_.now();
  const std::string& workspace_id = actor.workspace_id;
  const auto members = load_members(store, workspace_id);
  const auto target_role = members.role_of(user_id);
  if (!target_role) return user_error::not_found;
  const auto current = as_of(actor, members);
  if (!may(current, domain::action::users_remove, users_write_scope) ||
      !domain::may_remove(*current.effective_role(), *target_role)) {
    return user_error::forbidden;
  }
  auto done = execute(
      store, domain::members_stream_id(workspace_id), members,
      [&](const domain::membership_state& m) {
        return domain::decide(
            m, domain::remove_member{workspace_id, std::string(user_id), actor.user_id, now});
      },
      ctx, random_, now);
  if (!done) return to_user_error(done.error());
  const auto& position = done->position;
  people.delete_sessions(user_id, workspace_id);
  people.delete_invitations(user_id, workspace_id);
  return position.last_seq;
}

domain::result<user_service::password_set, user_error> user_service::set_password(
    infra::event_store& store, infra::people_store& people, std::string_view token,
    const infra::secret& password, const request_context& ctx) const {
  if (!domain::valid_session_token(token)) return user_error::invalid_token;
  // Checked before the token is spent, so a refused password can be retried with it.
  if (infra::check_new_password(password.reveal())) return user_error::weak_password;
  const auto now = clock_.now();
  const auto used =
      people.consume_invitation(token_hash(token_key_, token), domain::to_micros(now));
  if (!used) return user_error::invalid_token;
  // A token sets a first password only: once the person has one (set through another
  // workspace's invitation), an older token of any workspace cannot replace it.
  if (people.password_hash(used->user_id)) return user_error::invalid_token;
  auto hashed = infra::hash_password(password);
  if (!hashed) return user_error::weak_password;

  // The token is spent already: a concurrent change of the user stream (a display name) is
  // decided again rather than failing the person's one attempt.
  constexpr int attempts = 3;
  std::uint64_t seq = 0;
  for (int attempt = 1;; ++attempt) {
    const auto user = load_user(store, used->user_id);
    auto decision = domain::decide(user, domain::set_user_password{used->user_id, now});
    if (!decision) return user_error::invalid_token;
    try {
      seq = store
                .append(domain::user_stream_id(used->user_id), user.version,
                        encode_events(decision.value(), random_), metadata_of(ctx),
                        domain::to_micros(now))
                .last_seq;
      break;
    } catch (const infra::error& e) {
      if (e.code() != infra::errc::conflict || attempt == attempts) throw;
    }
  }
  people.set_password_hash(used->user_id, hashed.value(), domain::to_micros(now));
  return password_set{used->user_id, seq};
}

domain::result<new_session, user_error> user_service::login(
    infra::people_store& people, const directory_view& directory, std::string_view email,
    const infra::secret& password, std::string_view workspace, std::string_view source_ip,
    std::chrono::seconds* retry_after) const {
  if (retry_after) *retry_after = std::chrono::seconds(0);
  const auto now = clock_.now();
  const domain::rate_limit limit{options_.login_failures_allowed,
                                 static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                                     options_.login_window.count(), 1, std::int64_t{UINT32_MAX}))};
  const std::string normalized = domain::normalize_email(email);
  // Only a plausible email gets an account counter: anything else names no account.
  const bool plausible = domain::valid_email(normalized);
  const std::string account_key = "login-account/" + normalized;
  const std::string ip_key = "login-ip/" + std::string(source_ip);

  // Refused before any verification while either counter is at its limit.
  std::chrono::seconds wait(0);
  if (plausible) wait = std::max(wait, login_throttle_.check(account_key, limit, now));
  if (!source_ip.empty()) wait = std::max(wait, login_throttle_.check(ip_key, limit, now));
  if (wait.count() > 0) {
    if (retry_after) *retry_after = wait;
    return user_error::throttled;
  }

  const auto failed = [&]() -> user_error {
    if (login_throttle_.counter_count() > max_login_counters) login_throttle_.sweep(now);
    if (plausible) login_throttle_.try_acquire(account_key, limit, now);
    if (!source_ip.empty()) login_throttle_.try_acquire(ip_key, limit, now);
    return user_error::bad_credentials;
  };

  const auto user = plausible ? directory.find_user_by_email(normalized) : std::nullopt;
  const auto stored = user ? people.password_hash(user->user_id) : std::nullopt;
  if (!stored) {
    // No such user (or no password yet): spend the same time as a wrong password.
    infra::verify_password_dummy(password);
    return failed();
  }
  if (!infra::verify_password(password, *stored)) return failed();

  // The password is right: only now may the answer say anything about the account.
  const auto memberships = directory.memberships(user->user_id);
  std::string workspace_id;
  if (workspace.empty()) {
    if (memberships.size() > 1) return user_error::choose_workspace;
    if (memberships.empty()) return user_error::bad_credentials;
    workspace_id = memberships.front().first;
  } else {
    const auto it = std::find_if(memberships.begin(), memberships.end(),
                                 [&](const auto& m) { return m.first == workspace; });
    if (it == memberships.end()) return user_error::bad_credentials;
    workspace_id = it->first;
  }

  if (infra::needs_rehash(*stored)) {
    auto rehashed = infra::hash_password(password);
    if (rehashed) people.set_password_hash(user->user_id, rehashed.value(), domain::to_micros(now));
  }

  infra::secret session_id(domain::new_session_token(random_));
  infra::session_record record{infra::session_id_hash(session_id.reveal()), user->user_id,
                               workspace_id, domain::to_micros(now), domain::to_micros(now)};
  people.add_session(record);
  auto csrf = infra::csrf_token(csrf_key_, session_id.reveal());
  return new_session{std::move(session_id), std::move(csrf), std::move(record)};
}

std::optional<principal> user_service::authenticate_session(infra::people_store& people,
                                                            const directory_view& directory,
                                                            std::string_view session_id) const {
  if (!domain::valid_session_token(session_id)) return std::nullopt;
  const auto id_hash = infra::session_id_hash(session_id);
  const auto session = people.find_session(id_hash);
  if (!session) return std::nullopt;
  const auto now = clock_.now();
  const domain::timestamp created{std::chrono::microseconds(session->created_at_us)};
  const domain::timestamp last_seen{std::chrono::microseconds(session->last_seen_at_us)};
  if (!domain::session_valid(created, last_seen, now, options_.sessions)) {
    people.delete_session(id_hash);
    return std::nullopt;
  }
  auto role = directory.role_of(session->workspace_id, session->user_id);
  if (!role) return std::nullopt;
  people.touch_session(id_hash, domain::to_micros(now));
  principal p;
  p.workspace_id = session->workspace_id;
  p.user_id = session->user_id;
  p.member_role = role;
  p.session_id_hash = id_hash;
  return p;
}

std::string user_service::csrf_token_of(std::string_view session_id) const {
  return infra::csrf_token(csrf_key_, session_id);
}

bool user_service::csrf_valid(std::string_view session_id, std::string_view token) const noexcept {
  return infra::csrf_token_valid(csrf_key_, session_id, token);
}

void user_service::logout(infra::people_store& people, std::string_view session_id) const {
  if (!domain::valid_session_token(session_id)) return;
  people.delete_session(infra::session_id_hash(session_id));
}

domain::result<bootstrapped_owner, user_error> user_service::bootstrap_owner(
    infra::event_store& store, infra::people_store& people, std::string_view workspace_id,
    std::string_view email, const request_context& ctx) const {
  const auto now = clock_.now();
  const auto members = load_members(store, workspace_id);
  const std::string fresh_id = domain::new_id(domain::user_id_tag, random_);
  auto registered = domain::decide(domain::user_state{},
                                   domain::register_user{fresh_id, std::string(email),
                                                         std::string(bootstrap_display_name), now});
  if (!registered) return to_user_error(registered.error());
  const auto& registration = std::get<domain::user_registered>(registered->front());
  auto invited = domain::decide(
      members, domain::invite_member{std::string(workspace_id), fresh_id, domain::role::owner,
                                     std::string(domain::bootstrap_actor), std::nullopt, now});
  if (!invited) return to_user_error(invited.error());

  infra::secret password(random_base62(random_, bootstrap_password_length));
  auto hashed = infra::hash_password(password);
  if (!hashed) throw infra::error(infra::errc::internal, "generated password refused");

  // A new user: registration, password and membership in one transaction.
  const auto user_state = domain::evolve(domain::user_state{}, registered->front());
  auto password_set = domain::decide(user_state, domain::set_user_password{fresh_id, now});
  if (!password_set) return to_user_error(password_set.error());
  std::vector<infra::new_event> user_events{
      encode_event(registration, registration_event_id(registration.email))};
  for (auto& e : encode_events(password_set.value(), random_)) user_events.push_back(e);
  const auto member_events = encode_events(invited.value(), random_);
  const auto user_stream = domain::user_stream_id(fresh_id);
  const auto members_stream = domain::members_stream_id(workspace_id);
  const std::array<infra::stream_append, 2> items{
      infra::stream_append{user_stream, 0, user_events},
      infra::stream_append{members_stream, members.version, member_events}};
  auto positions = store.append_all(items, metadata_of(ctx), domain::to_micros(now));
  if (!positions.front().duplicate) {
    people.set_password_hash(fresh_id, hashed.value(), domain::to_micros(now));
    return bootstrapped_owner{fresh_id, std::move(password),
                              std::max(positions.front().last_seq, positions.back().last_seq)};
  }

  // The email is a user already (the owner of another workspace, say): that user becomes this
  // workspace's owner and gets the new password, which the operator is shown.
  const std::string user_id = registered_user_at(store, positions.front().first_seq);
  if (members.role_of(user_id)) return user_error::already_member;
  const auto existing = load_user(store, user_id);
  auto invited_existing = domain::decide(
      members, domain::invite_member{std::string(workspace_id), user_id, domain::role::owner,
                                     std::string(domain::bootstrap_actor), std::nullopt, now});
  if (!invited_existing) return to_user_error(invited_existing.error());
  auto password_reset = domain::decide(existing, domain::set_user_password{user_id, now});
  if (!password_reset) return to_user_error(password_reset.error());
  const auto existing_member_events = encode_events(invited_existing.value(), random_);
  const auto existing_user_events = encode_events(password_reset.value(), random_);
  const auto existing_stream = domain::user_stream_id(user_id);
  const std::array<infra::stream_append, 2> existing_items{
      infra::stream_append{members_stream, members.version, existing_member_events},
      infra::stream_append{existing_stream, existing.version, existing_user_events}};
  positions = store.append_all(existing_items, metadata_of(ctx), domain::to_micros(now));
  people.set_password_hash(user_id, hashed.value(), domain::to_micros(now));
  return bootstrapped_owner{user_id, std::move(password),
                            std::max(positions.front().last_seq, positions.back().last_seq)};
}

}  // namespace keyledger::services

#include "tests/support/memory_people_store.hpp"

#include <algorithm>
#include <iterator>
#include <string>

#include "infra/core/error.hpp"

namespace keyledger::test_support {

namespace {

bool valid_hash(std::string_view hash) noexcept {
  return hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

[[noreturn]] void refuse(const char* what) { throw infra::error(infra::errc::bad_request, what); }

template <class Map, class Pred>
std::size_t erase_where(Map& map, Pred pred) {
  return static_cast<std::size_t>(std::erase_if(map, pred));
}

}  // namespace

void memory_people_store::set_password_hash(std::string_view user_id, std::string_view encoded_hash,
                                            std::int64_t now_us) {
  if (user_id.empty() || encoded_hash.empty()) refuse("set_password_hash: empty argument");
  std::lock_guard lock(mutex_);
  credentials_.insert_or_assign(std::string(user_id),
                                credential{std::string(encoded_hash), now_us});
}

std::optional<std::string> memory_people_store::password_hash(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto it = credentials_.find(user_id);
  if (it == credentials_.end()) return std::nullopt;
  return it->second.hash;
}

void memory_people_store::add_invitation(const infra::invitation_record& invitation) {
  if (!valid_hash(invitation.token_hash) || invitation.user_id.empty() ||
      invitation.workspace_id.empty()) {
    refuse("add_invitation: bad argument");
  }
  std::lock_guard lock(mutex_);
  if (!invitations_.emplace(invitation.token_hash, invitation).second) {
    throw infra::error(infra::errc::storage, "add_invitation: duplicate token hash");
  }
}

std::optional<infra::invitation_record> memory_people_store::consume_invitation(
    std::string_view token_hash, std::int64_t now_us) {
  std::lock_guard lock(mutex_);
  auto it = invitations_.find(token_hash);
  if (it == invitations_.end()) return std::nullopt;
  auto record = std::move(it->second);
  invitations_.erase(it);
  if (record.expires_at_us <= now_us) return std::nullopt;
  return record;
}

std::size_t memory_people_store::delete_invitations(std::string_view user_id,
                                                    std::string_view workspace_id) {
  std::lock_guard lock(mutex_);
  return erase_where(invitations_, [&](const auto& item) {
    return item.second.user_id == user_id && item.second.workspace_id == workspace_id;
  });
}

void memory_people_store::add_session(const infra::session_record& session) {
  if (!valid_hash(session.id_hash) || session.user_id.empty() || session.workspace_id.empty() ||
      session.last_seen_at_us < session.created_at_us) {
    refuse("add_session: bad argument");
  }
  std::lock_guard lock(mutex_);
  if (!sessions_.emplace(session.id_hash, session).second) {
    throw infra::error(infra::errc::storage, "add_session: duplicate id hash");
  }
}

std::optional<infra::session_record> memory_people_store::find_session(std::string_view id_hash) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id_hash);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

void memory_people_store::touch_session(std::string_view id_hash, std::int64_t now_us) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id_hash);
  if (it != sessions_.end()) {
    it->second.last_seen_at_us = std::max(it->second.last_seen_at_us, now_us);
  }
}

void memory_people_store::delete_session(std::string_view id_hash) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id_hash);
  if (it != sessions_.end()) sessions_.erase(it);
}

std::size_t memory_people_store::delete_sessions(std::string_view user_id,
                                                 std::string_view workspace_id) {
  std::lock_guard lock(mutex_);
  return erase_where(sessions_, [&](const auto& item) {
    return item.second.user_id == user_id && item.second.workspace_id == workspace_id;
  });
}

std::size_t memory_people_store::purge(std::int64_t idle_before_us, std::int64_t created_before_us,
                                       std::int64_t now_us) {
  std::lock_guard lock(mutex_);
  return erase_where(sessions_,
                     [&](const auto& item) {
                       return item.second.last_seen_at_us < idle_before_us ||
                              item.second.created_at_us < created_before_us;
                     }) +
         erase_where(invitations_,
                     [&](const auto& item) { return item.second.expires_at_us <= now_us; });
}

std::size_t memory_people_store::invitation_count() const {
  std::lock_guard lock(mutex_);
  return invitations_.size();
}

std::size_t memory_people_store::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::map<std::string, infra::invitation_record, std::less<>> memory_people_store::invitations()
    const {
  std::lock_guard lock(mutex_);
  return invitations_;
}

std::map<std::string, infra::session_record, std::less<>> memory_people_store::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_;
}

}  // namespace keyledger::test_support

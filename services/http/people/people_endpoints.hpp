#pragma once

// Internal to services/http/people.

#include "services/http/people/people_routes.hpp"

namespace keyledger::services::http {

class people_endpoints {
 public:
  explicit people_endpoints(people_routes_dependencies deps) : d_(std::move(deps)), run_(d_.run) {}

  // user_endpoints.cpp
  void list_users(call& c);
  void invite_user(call& c);
  void get_user(call& c);
  void update_user(call& c);
  void remove_user(call& c);
  void set_password(call& c);
  // session_endpoints.cpp
  void login(call& c);
  void current_session(call& c);
  void logout(call& c);

 private:
  people_routes_dependencies d_;
  const runner& run_;
};

}  // namespace keyledger::services::http

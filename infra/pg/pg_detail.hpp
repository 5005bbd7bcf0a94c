#pragma once

// Private to infra/pg: helpers shared by pg_event_store, pg_subscription and migrations.
// Nothing outside infra/pg includes this (it pulls in pqxx).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/error.hpp"
#include "infra/core/event_store.hpp"

namespace keyledger::infra::pg_detail {

/// Opens a connection for event-store work: client encoding UTF8 (payload bytes reach the
/// database unconverted), `SET ROLE keyledger_app` when the login role is a member, and the
/// read statements prepared. Throws pqxx exceptions (callers translate).
std::unique_ptr<pqxx::connection> open_event_connection(const std::string& conninfo);

/// Events with global_seq > after_seq, at most `limit`, in global order (prepared statement of
/// open_event_connection).
std::vector<recorded_event> read_all(pqxx::transaction_base& txn, std::uint64_t after_seq,
                                     std::size_t limit);

/// True for failures after which the connection must be dropped and reopened.
bool is_connection_failure(const std::exception& e) noexcept;

/// Translates the exception being handled (call only inside a catch block) into an
/// infra::error and throws it. `operation` names what failed ("append", "read_all"). The detail
/// keeps the SQLSTATE and the first line of the server message only: later lines (DETAIL) and
/// data-exception messages can quote row values, and payloads never go into an error.
[[noreturn]] void rethrow_translated(std::string_view operation);

}  // namespace keyledger::infra::pg_detail

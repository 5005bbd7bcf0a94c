#include "infra/pg/pg_detail.hpp"

#include <memory>
#include <new>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "domain/encoding.hpp"
#include "infra/core/error.hpp"
#include "infra/crypto/crypto.hpp"

namespace keyledger::infra::pg_detail {

namespace {

std::string first_line(const char* text) {
  std::string_view s(text);
  s = s.substr(0, s.find('\n'));
  return std::string(s);
}

std::unique_ptr<pqxx::connection> open_app_connection_unchecked(const std::string& conninfo) {
  auto conn = std::make_unique<pqxx::connection>(conninfo);
  // libpqxx 6 would otherwise reconnect on its own after a failure and carry on without the
  // session state set here (the role, above all) or a transaction begun by hand. The callers
  // drop a broken connection and open a new one through this function instead.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  conn->set_client_encoding("UTF8");
  pqxx::nontransaction txn(*conn);
  // Only what keyledger_app may do from here on when the login role may become it (the
  // migration makes the migrating role a member; superusers are members of every role).
  const auto r = txn.exec(
      "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'keyledger_app') "
      "AND pg_has_role(current_user, 'keyledger_app', 'MEMBER')");
  if (!r.empty() && r[0][0].as<bool>()) txn.exec("SET ROLE keyledger_app");
  // The statements take array parameters whose plans do not depend on the values: planning
  // them once saves about as much server time per append as the INSERT itself.
  txn.exec("SET plan_cache_mode = force_generic_plan");
  return conn;
}

}  // namespace

std::unique_ptr<pqxx::connection> open_app_connection(const std::string& conninfo) {
  try {
    return open_app_connection_unchecked(conninfo);
  } catch (const pqxx::sql_error&) {
    throw;  // a statement's own error: the callers translate it by its SQLSTATE
  } catch (const pqxx::broken_connection&) {
    throw;  // already the outage it is: the callers translate (and some retry on it)
  } catch (const pqxx::failure& e) {
    // libpqxx 6.4 reports a server going away while the session is set up as a plain failure
    // ("Setting client encoding failed.") rather than broken_connection: it is the same outage
    // (seen as a 500 during e2e.faults_postgres's restart), so it is answered as unavailable.
    throw error(errc::unavailable,
                "opening a database connection failed: " + first_line(e.what()));
  }
}

bool is_connection_failure(const std::exception& e) noexcept {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    // 08: connection exception; 57P01-57P03: shutdown / crash recovery / cannot connect now.
    return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
  }
  return false;
}


void rethrow_translated(std::string_view operation) {
  const std::string op(operation);
  try {
    throw;
  } catch (const error&) {
    throw;
  } catch (const pqxx::unique_violation& e) {
    throw error(errc::conflict, op + ": unique violation: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    if (is_connection_failure(e)) {
      throw error(errc::unavailable, op + ": database unavailable (" + state + ")");
    }
    // libpqxx 6.4 leaves sqlstate() empty for some classes, so go by the exception type too.
    if (dynamic_cast<const pqxx::insufficient_resources*>(&e) != nullptr ||
        state.rfind("53", 0) == 0) {
      throw error(errc::unavailable, op + ": database out of resources (" + state + ")");
    }
    // Class 22 (data exception) messages can quote the offending value.
    if (dynamic_cast<const pqxx::data_exception*>(&e) != nullptr || state.rfind("22", 0) == 0) {
      throw error(errc::storage, op + ": data exception " + state);
    }
    throw error(errc::storage, op + ": sqlstate " + state + ": " + first_line(e.what()));
  } catch (const pqxx::broken_connection& e) {
    throw error(errc::unavailable, op + ": connection failed: " + first_line(e.what()));
  } catch (const pqxx::in_doubt_error&) {
    throw error(errc::unavailable, op + ": connection lost during commit (outcome unknown)");
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw error(errc::storage, op + ": " + first_line(e.what()));
  }
}

void rethrow_as_unavailable(std::string_view operation) {
  const std::string op(operation);
  try {
    throw;
  } catch (const error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw error(errc::unavailable, op + ": connection lost: " + first_line(e.what()));
  }
}

void array_literal::add(std::string_view text) {
  out_ += out_.empty() ? '{' : ',';
  out_ += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out_ += '\\';
    out_ += c;
  }
  out_ += '"';
}

void array_literal::add(std::int64_t value) {
  out_ += out_.empty() ? '{' : ',';
  out_ += std::to_string(value);
}

void array_literal::add(bool value) {
  out_ += out_.empty() ? '{' : ',';
  out_ += value ? "t" : "f";
}

std::string timestamptz_from_us_sql(std::string_view expr) {
  const std::string e(expr);
  return "('epoch'::timestamptz + (" + e + " / 3600000000) * interval '1 hour' + (" + e +
         " % 3600000000) * interval '1 microsecond')";
}

std::string us_from_timestamptz_sql(std::string_view column) {
  return "(extract(epoch FROM " + std::string(column) + ") * 1000000)::bigint";
}

bool decode_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = domain::hex_value(hex[i]);
    const int lo = domain::hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
  }
  return true;
}

std::string format_uuid(const uuid& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += digits[id[i] >> 4];
    out += digits[id[i] & 0x0f];
  }
  return out;
}

std::string hex_of(std::string_view bytes) {
  return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                              bytes.size()));
}

}  // namespace keyledger::infra::pg_detail

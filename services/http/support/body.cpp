#include "services/http/support/body.hpp"

#include <algorithm>
#include <string>

#include "domain/encoding.hpp"
#include "domain/keys/key_settings.hpp"
#include "domain/text.hpp"
#include "services/http/router/form.hpp"

namespace keyledger::services::http {

domain::result<infra::json_body, domain::problem> read_json_body(
    const infra::http_request& req, std::initializer_list<std::string_view> known,
    bool allow_empty) {
  using domain::problem;
  using domain::problem_kind;
  const bool blank = std::all_of(req.body.begin(), req.body.end(), [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
  });
  if (allow_empty && blank) return std::move(infra::json_body::parse("{}").value());
  const auto type = req.header("content-type");
  const auto media = domain::trim_ows(type.substr(0, type.find(';')));
  if (!domain::iequals_ascii(media, "application/json")) {
    return problem::of(problem_kind::unsupported_media, "UNSUPPORTED_MEDIA_TYPE");
  }
  auto body = infra::json_body::parse(req.body);
  if (!body) return problem::of(problem_kind::invalid, "INVALID_JSON", body.error().message);
  if (auto unknown = body->first_unknown_field(known)) {
    return problem::of(problem_kind::invalid, "UNKNOWN_FIELD",
                       "unknown field " + domain::echoable_name(*unknown));
  }
  return std::move(body.value());
}

std::optional<infra::json_body> parse_body(const call& c,
                                           std::initializer_list<std::string_view> known,
                                           bool allow_empty) {
  auto body = read_json_body(c.req, known, allow_empty);
  if (!body) {
    answer(c, body.error());
    return std::nullopt;
  }
  return std::move(body.value());
}

domain::problem unknown_member(std::string_view parent, std::string_view member) {
  const auto shown = domain::echoable_name(member);
  return domain::problem::of(
      domain::problem_kind::invalid, "UNKNOWN_FIELD",
      "unknown field " + (shown.starts_with('\'')
                              ? "'" + std::string(parent) + "." + shown.substr(1)
                              : "(name not shown) in '" + std::string(parent) + "'"));
}

std::optional<std::chrono::seconds> read_grace_period(const call& c) {
  auto body = parse_body(c, {"grace_period_seconds"}, true);
  if (!body) return std::nullopt;
  std::optional<std::int64_t> grace;
  if (!take(c, body->get_int("grace_period_seconds"), grace)) return std::nullopt;
  auto grace_period = domain::check_grace_period(
      grace.value_or(std::chrono::seconds(domain::default_grace_period).count()));
  if (!grace_period) {
    answer(c, grace_period.error());
    return std::nullopt;
  }
  return grace_period.value();
}

}  // namespace keyledger::services::http

// POST /v1/leaks: check the reporter's signature over the raw body, then the report's shape,
// then judge and act on every reported string (services/app/leaks), and answer in GitHub's
// feedback format. Nothing is parsed before the signature is checked, and nothing changes
// unless the whole report is well-formed.
#include <string>
#include <vector>

#include "domain/encoding.hpp"
#include "domain/keys/leak_report.hpp"
#include "domain/text.hpp"
#include "infra/crypto/crypto.hpp"
#include "infra/json/json.hpp"
#include "services/app/leaks/leak_reporters.hpp"
#include "services/app/leaks/leak_service.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/leaks/leak_routes.hpp"
#include "services/http/support/respond.hpp"

namespace keyledger::services::http {
namespace {

using domain::problem;
using domain::problem_kind;

/// More strings than a body of the server's size limit could hold with their URLs anyway.
constexpr std::size_t max_reported_strings = 1000;

constexpr std::string_view key_id_header = "github-public-key-identifier";
constexpr std::string_view signature_header = "github-public-key-signature";

/// The report, shape-checked: each element an object with a string `token` and `type`, and
/// optionally a string `url` and `source`; other members are ignored (GitHub's format is not
/// ours to freeze). Never echoes a value.
domain::result<std::vector<reported_string>, problem> read_report(std::string_view body) {
  infra::json_limits limits;
  limits.max_array = max_reported_strings;
  auto parsed = infra::json_body::parse_object_array(body, limits);
  if (!parsed) return problem::of(problem_kind::invalid, "INVALID_JSON", parsed.error().message);
  std::vector<reported_string> out;
  out.reserve(parsed->size());
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    const auto& e = parsed.value()[i];
    const std::string at = "[" + std::to_string(i) + "]";
    auto token = e.get_string("token");
    auto type = e.get_string("type");
    auto url = e.get_string("url");
    auto source = e.get_string("source");
    if (!token || !token.value() || token.value()->empty()) {
      return problem::invalid(at + ".token",
                              "element " + at + ": 'token' must be a non-empty string");
    }
    if (!type || !type.value() || !domain::valid_leak_type(*type.value())) {
      return problem::invalid(at + ".type", "element " + at +
                                                ": 'type' must be 1-128 printable ASCII "
                                                "characters without spaces");
    }
    if (!url || (url.value() && !domain::valid_leak_url(*url.value()))) {
      return problem::invalid(at + ".url", "element " + at +
                                               ": 'url' must be a string of at most 2048 "
                                               "printable ASCII characters without spaces");
    }
    if (!source || (source.value() && !domain::valid_leak_source(*source.value()))) {
      return problem::invalid(at + ".source", "element " + at +
                                                  ": 'source' must be a string of 1-64 of "
                                                  "[A-Za-z0-9_-]");
    }
    reported_string r{infra::secret(std::move(*token.value())), std::move(*type.value()),
                      url.value().value_or(""), source.value().value_or("unknown")};
    out.push_back(std::move(r));
  }
  return out;
}

std::string feedback_json(const std::vector<leak_verdict>& verdicts) {
  infra::json_writer w;
  w.begin_array();
  for (const auto& v : verdicts) {
    w.begin_object()
        .field("token_hash", v.token_hash)
        .field("token_type", v.token_type)
        .field("label", v.true_positive ? "true_positive" : "false_positive")
        .end_object();
  }
  w.end_array();
  return w.take();
}

class leak_endpoints {
 public:
  explicit leak_endpoints(leak_routes_dependencies deps) : d_(std::move(deps)) {}
  void report(call& c);

 private:
  leak_routes_dependencies d_;
};

void leak_endpoints::report(call& c) {
  // 1. Someone must be trusted to report at all.
  if (d_.reporters == nullptr || d_.leaks == nullptr || d_.reporters->empty()) {
    return answer(c, problem::of(problem_kind::forbidden, "LEAK_REPORTS_NOT_CONFIGURED",
                                 "No leak reporter key is configured on this server "
                                 "(KEYLEDGER_LEAK_REPORTER_KEYS)"));
  }
  // 2. The signature over the exact bytes received, before anything reads them.
  const auto key_id = c.req.header(key_id_header);
  const auto signature = c.req.header(signature_header);
  if (key_id.empty() || signature.empty()) {
    return answer(c, problem::of(problem_kind::unauthenticated, "LEAK_SIGNATURE_REQUIRED",
                                 "A leak report needs the Github-Public-Key-Identifier and "
                                 "Github-Public-Key-Signature headers"));
  }
  switch (d_.reporters->check(key_id, signature, c.req.body)) {
    case reporter_check::ok:
      break;
    case reporter_check::unknown_key:
      return answer(c, problem::of(problem_kind::unauthenticated, "UNKNOWN_REPORTER_KEY",
                                   "No configured leak reporter key has this identifier"));
    case reporter_check::bad_signature:
      return answer(c, problem::of(problem_kind::unauthenticated, "INVALID_SIGNATURE",
                                   "The signature does not match the body under this key"));
  }
  // 3. The report's shape, all of it, before anything changes.
  const auto type = c.req.header("content-type");
  const auto media = domain::trim_ows(type.substr(0, type.find(';')));
  if (!domain::iequals_ascii(media, "application/json")) {
    return answer(c, problem::of(problem_kind::unsupported_media, "UNSUPPORTED_MEDIA_TYPE"));
  }
  auto report = read_report(c.req.body);
  if (!report) return answer(c, report.error());

  // 4. Judge and act; answer once this node refuses the keys it revoked or disabled.
  const auto digest = infra::sha256(c.req.body);
  leak_reporter_context from{std::string(key_id), c.req.request_id, c.client_ip_text,
                             std::string(c.req.header("idempotency-key"))};
  d_.run.command(
      c,
      [this, report = std::make_shared<std::vector<reported_string>>(std::move(report.value())),
       report_id = infra::to_hex(digest),
       from = std::move(from)](std::size_t worker) -> command_result {
        auto outcome = d_.leaks->handle(d_.store_for(worker), *report, report_id, from);
        return {json_response(200, feedback_json(outcome.verdicts)), outcome.last_seq};
      });
}

}  // namespace

void add_leak_routes(route_table& t, leak_routes_dependencies deps) {
  using E = leak_endpoints;
  const auto e = std::make_shared<leak_endpoints>(std::move(deps));
  // No API key, no session: the reporter's signature is the credential (the endpoint checks).
  t.add({"/v1/leaks", {{"POST", {}, "", {}, false, true, bind(e, &E::report)}}});
}

}  // namespace keyledger::services::http

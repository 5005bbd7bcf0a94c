#include "services/http/system/system_routes.hpp"

#include <chrono>
#include <memory>
#include <string>

#include "infra/json/json.hpp"
#include "services/http/errors/errors.hpp"
#include "services/http/openapi_document.hpp"
#include "services/http/support/respond.hpp"
#include "services/projections/active_key_view.hpp"

namespace keyledger::services::http {
namespace {

class system_endpoints {
 public:
  explicit system_endpoints(system_routes_dependencies deps) : d_(std::move(deps)) {}

  void healthz(call& c) { c.respond(json_response(200, R"({"status":"ok"})")); }

  /// Ready when this node's view has applied the log's head (within a second) and the log it
  /// serves from still matches its signed checkpoints.
  void readyz(call& c) {
    d_.run.read(c, [this, request_id = c.req.request_id](std::size_t worker) {
      if (d_.log_mismatch) {
        if (auto why = d_.log_mismatch()) {
          return json_error(domain::problem::of(domain::problem_kind::unavailable, "LOG_MISMATCH",
                                                "The stored log differs from its signed "
                                                "checkpoints: " +
                                                    *why),
                            request_id);
        }
      }
      const auto head = d_.store_for(worker).head_seq();
      if (!d_.view.wait_applied(head, std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
        return json_error(domain::problem::of(domain::problem_kind::unavailable, "NOT_READY",
                                              "The key view is catching up with the log"),
                          request_id);
      }
      infra::json_writer w;
      w.begin_object()
          .field("status", "ready")
          .field("applied_seq", static_cast<std::uint64_t>(d_.view.applied_seq()))
          .end_object();
      return json_response(200, w.take());
    });
  }

  void openapi(call& c) { c.respond(json_response(200, std::string(openapi_document()))); }

 private:
  system_routes_dependencies d_;
};

}  // namespace

void add_system_routes(route_table& t, system_routes_dependencies deps) {
  using E = system_endpoints;
  const auto e = std::make_shared<system_endpoints>(std::move(deps));
  t.add({"/healthz", {{"GET", {}, "", {}, false, false, bind(e, &E::healthz)}}});
  t.add({"/readyz", {{"GET", {}, "", {}, false, false, bind(e, &E::readyz)}}});
  t.add({"/openapi.json", {{"GET", {}, "", {}, false, false, bind(e, &E::openapi)}}});
}

}  // namespace keyledger::services::http

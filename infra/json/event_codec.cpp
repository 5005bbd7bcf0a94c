#include "infra/json/event_codec.hpp"

#include <rapidjson/document.h>

#include <cstring>
#include <utility>
#include <variant>
#include <vector>

#include "infra/json/json.hpp"

// Payload formats and the compatibility rules are in docs/events.md. The encoders write members
// in a fixed order: the log stores and hash-chains the exact bytes, so the same event must
// always encode to the same text.

namespace keyledger::infra {

namespace {

namespace rj = rapidjson;

std::string encode(const domain::key_created& e) {
  json_writer w;
  w.begin_object()
      .field("key_id", e.key_id)
      .field("workspace_id", e.workspace_id)
      .field("name", e.name)
      .field("environment", domain::to_string(e.env))
      .key("scopes")
      .begin_array();
  for (const auto& s : e.scopes) w.string(s);
  w.end_array()
      .field("key_hash", e.key_hash)
      .field("start", e.start)
      .field("created_at", domain::format_timestamp(e.created_at))
      .end_object();
  return w.take();
}

std::string encode(const domain::key_revoked& e) {
  json_writer w;
  w.begin_object()
      .field("key_id", e.key_id)
      .field("revoked_at", domain::format_timestamp(e.revoked_at))
      .end_object();
  return w.take();
}

std::string encode(const domain::workspace_created& e) {
  json_writer w;
  w.begin_object()
      .field("workspace_id", e.workspace_id)
      .field("name", e.name)
      .field("key_prefix", e.key_prefix)
      .field("created_at", domain::format_timestamp(e.created_at))
      .end_object();
  return w.take();
}

// ---- decoding -------------------------------------------------------------------------------
// Strict about the fields an event type defines (present, right type, each once); members it
// does not define are ignored, so a reader keeps working when a newer writer adds optional
// fields.

// Parses a stored payload into `doc`; false unless it is exactly one JSON object.
bool parse_object(std::string_view payload, rj::Document& doc) {
  // The memory stream reports NUL as end of input; never valid in JSON text anyway.
  if (std::memchr(payload.data(), '\0', payload.size()) != nullptr) return false;
  doc.Parse<rj::kParseIterativeFlag | rj::kParseValidateEncodingFlag>(payload.data(),
                                                                      payload.size());
  return !doc.HasParseError() && doc.IsObject();
}

// Reads the members of one event type. Any failure (missing, wrong type, repeated, bad value)
// marks the whole payload as not decodable.
class field_reader {
 public:
  explicit field_reader(const rj::Value& obj) : obj_(obj) {}

  bool ok() const noexcept { return ok_; }

  std::string string(std::string_view name) {
    const rj::Value* v = find(name);
    if (v == nullptr || !v->IsString()) return fail<std::string>();
    return std::string(v->GetString(), v->GetStringLength());
  }

  std::vector<std::string> string_array(std::string_view name) {
    const rj::Value* v = find(name);
    if (v == nullptr || !v->IsArray()) return fail<std::vector<std::string>>();
    std::vector<std::string> out;
    out.reserve(v->Size());
    for (const auto& e : v->GetArray()) {
      if (!e.IsString()) return fail<std::vector<std::string>>();
      out.emplace_back(e.GetString(), e.GetStringLength());
    }
    return out;
  }

  domain::timestamp timestamp(std::string_view name) {
    const std::string text = string(name);
    if (!ok_) return {};
    const auto t = domain::parse_timestamp(text);
    if (!t) return fail<domain::timestamp>();
    return *t;
  }

  domain::environment environment(std::string_view name) {
    const std::string text = string(name);
    if (!ok_) return {};
    const auto env = domain::parse_environment(text);
    if (!env) return fail<domain::environment>();
    return *env;
  }

 private:
  template <class T>
  T fail() {
    ok_ = false;
    return T{};
  }

  // The member named `name`; null if absent or present more than once (ambiguous).
  const rj::Value* find(std::string_view name) {
    const rj::Value* found = nullptr;
    for (const auto& m : obj_.GetObject()) {
      if (std::string_view(m.name.GetString(), m.name.GetStringLength()) != name) continue;
      if (found != nullptr) return nullptr;
      found = &m.value;
    }
    return found;
  }

  const rj::Value& obj_;
  bool ok_ = true;
};

std::optional<domain::key_created> decode_key_created(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_created e;
  e.key_id = r.string("key_id");
  e.workspace_id = r.string("workspace_id");
  e.name = r.string("name");
  e.env = r.environment("environment");
  e.scopes = r.string_array("scopes");
  e.key_hash = r.string("key_hash");
  e.start = r.string("start");
  e.created_at = r.timestamp("created_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::key_revoked> decode_key_revoked(const rj::Value& obj) {
  field_reader r(obj);
  domain::key_revoked e;
  e.key_id = r.string("key_id");
  e.revoked_at = r.timestamp("revoked_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

std::optional<domain::workspace_created> decode_workspace_created(const rj::Value& obj) {
  field_reader r(obj);
  domain::workspace_created e;
  e.workspace_id = r.string("workspace_id");
  e.name = r.string("name");
  e.key_prefix = r.string("key_prefix");
  e.created_at = r.timestamp("created_at");
  if (!r.ok()) return std::nullopt;
  return e;
}

}  // namespace

std::string encode_payload(const domain::api_key_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::string encode_payload(const domain::workspace_event& e) {
  return std::visit([](const auto& ev) { return encode(ev); }, e);
}

std::optional<domain::api_key_event> decode_api_key_event(std::string_view type,
                                                          std::string_view payload) {
  try {
    if (type != "KeyCreated" && type != "KeyRevoked") return std::nullopt;
    rj::Document doc;
    if (!parse_object(payload, doc)) return std::nullopt;
    if (type == "KeyCreated") {
      if (auto e = decode_key_created(doc)) return domain::api_key_event{std::move(*e)};
    } else {
      if (auto e = decode_key_revoked(doc)) return domain::api_key_event{std::move(*e)};
    }
    return std::nullopt;
  } catch (...) {
    // Only allocation can throw here; "does not decode" is the documented answer.
    return std::nullopt;
  }
}

std::optional<domain::workspace_event> decode_workspace_event(std::string_view type,
                                                              std::string_view payload) {
  try {
    if (type != "WorkspaceCreated") return std::nullopt;
    rj::Document doc;
    if (!parse_object(payload, doc)) return std::nullopt;
    if (auto e = decode_workspace_created(doc)) return domain::workspace_event{std::move(*e)};
    return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

std::string encode_metadata(const event_metadata& m) {
  json_writer w;
  w.begin_object();
  if (!m.actor.empty()) w.field("actor", m.actor);
  if (!m.request_id.empty()) w.field("request_id", m.request_id);
  if (!m.source_ip.empty()) w.field("source_ip", m.source_ip);
  if (!m.idempotency_key.empty()) w.field("idempotency_key", m.idempotency_key);
  w.end_object();
  return w.take();
}

}  // namespace keyledger::infra

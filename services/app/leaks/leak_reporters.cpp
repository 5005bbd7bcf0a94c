#include "services/app/leaks/leak_reporters.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "domain/encoding.hpp"
#include "infra/core/error.hpp"

namespace keyledger::services {
namespace {

// A PEM public key is a few hundred bytes; anything much larger is the wrong file.
constexpr std::size_t max_pem_file = 64 * 1024;

std::string read_pem_file(const infra::leak_reporter_key& k) {
  std::ifstream in(k.pem_file, std::ios::binary);
  const auto where = "KEYLEDGER_LEAK_REPORTER_KEYS: key id " + k.key_id + ": ";
  if (!in) throw infra::error(infra::errc::config, where + "cannot read the file " + k.pem_file);
  std::string text;
  text.resize(max_pem_file + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad())
    throw infra::error(infra::errc::config, where + "cannot read the file " + k.pem_file);
  if (text.size() > max_pem_file) {
    throw infra::error(infra::errc::config, where + "the file " + k.pem_file + " is too large");
  }
  return text;
}

}  // namespace

leak_reporters leak_reporters::load(const std::vector<infra::leak_reporter_key>& configured) {
  leak_reporters out;
  for (const auto& k : configured) {
    const std::string pem = k.pem_file.empty() ? k.pem : read_pem_file(k);
    auto key = infra::ecdsa_p256_verifier::from_pem(pem);
    if (!key) {
      throw infra::error(infra::errc::config,
                         "KEYLEDGER_LEAK_REPORTER_KEYS: key id " + k.key_id +
                             ": not a PEM \"PUBLIC KEY\" block of an ECDSA P-256 key");
    }
    out.add(k.key_id, std::move(*key));
  }
  return out;
}

void leak_reporters::add(std::string key_id, infra::ecdsa_p256_verifier key) {
  for (const auto& [id, _] : keys_) {
    if (id == key_id) throw std::logic_error("leak_reporters: key id added twice");
  }
  keys_.emplace_back(std::move(key_id), std::move(key));
}

reporter_check leak_reporters::check(std::string_view key_id, std::string_view signature_base64,
                                     std::string_view body) const {
  for (const auto& [id, key] : keys_) {
    if (id != key_id) continue;
    const auto der = domain::base64_decode(signature_base64);
    if (!der || !key.verify(body, *der)) return reporter_check::bad_signature;
    return reporter_check::ok;
  }
  return reporter_check::unknown_key;
}

}  // namespace keyledger::services

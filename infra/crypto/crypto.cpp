#include "infra/crypto/crypto.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "domain/encoding.hpp"
#include "infra/core/error.hpp"
#include "infra/core/log.hpp"

namespace keyledger::infra {

namespace {

// ---- OpenSSL handles ------------------------------------------------------------------------

// Algorithms are fetched once: an explicit fetch avoids the per-call name lookup that the
// implicit EVP_sha256()/"HMAC" paths pay on OpenSSL 3. They live for the whole process.
EVP_MD* fetched_sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw error(errc::internal, "OpenSSL: SHA256 is not available");
  return md;
}

// ---- hex ------------------------------------------------------------------------------------

constexpr char hex_digits[] = "0123456789abcdef";

// ---- files ----------------------------------------------------------------------------------

constexpr std::size_t min_secret_bytes = 32;
// A secret file is a few dozen bytes; anything far larger is a wrong path, not a secret.
constexpr std::size_t max_secret_file_bytes = 64 * 1024;

struct fd_guard {
  int fd = -1;
  fd_guard() = default;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void config_error(const std::string& path, const std::string& problem) {
  throw error(errc::config, "server secret file '" + path + "' " + problem);
}

std::string errno_text(int err) { return std::string(std::strerror(err)); }

// Reads and checks an existing secret file. Never puts any of its content in an error.
secret read_secret_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang startup; the regular-file check below refuses it.
  // Symlinks are followed on purpose (secret managers mount files through them); the checks
  // apply to the file they point at.
  fd_guard f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (f.fd < 0) {
    const int err = errno;
    if (err == ENOENT) config_error(path, "does not exist");
    config_error(path, "cannot be opened: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    const int err = errno;
    config_error(path, "cannot be inspected: " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) config_error(path, "is not a regular file");
  if ((st.st_mode & 077) != 0) {
    config_error(path, "is accessible by group or others (run: chmod 600 on it)");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_secret_file_bytes) {
    config_error(path, "is too large to be a secret");
  }

  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size) + 1);
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      OPENSSL_cleanse(buf.data(), buf.size());
      secret wipe_me(std::move(content));
      config_error(path, "cannot be read: " + errno_text(err));
    }
    if (n == 0) break;
    if (content.size() + static_cast<std::size_t>(n) > max_secret_file_bytes) {
      OPENSSL_cleanse(buf.data(), buf.size());
      secret wipe_me(std::move(content));
      config_error(path, "is too large to be a secret");
    }
    content.append(buf.data(), static_cast<std::size_t>(n));
  }
  OPENSSL_cleanse(buf.data(), buf.size());

  // One trailing newline is what `echo ... > file` leaves; it is not part of the secret.
  if (!content.empty() && content.back() == '\n') content.pop_back();
  secret s(std::move(content));
  if (s.size() < min_secret_bytes) {
    config_error(path, "is too short (a secret needs at least " + std::to_string(min_secret_bytes) +
                           " bytes)");
  }
  return s;
}

// Creates every missing component of `dir` with mode 0700. Existing directories are left as
// they are.
void ensure_private_dir(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  ensure_private_dir(dir.parent_path() == dir ? std::filesystem::path{} : dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    const int err = errno;
    throw error(errc::config,
                "data directory '" + dir.string() + "' cannot be created: " + errno_text(err));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    throw error(errc::config, "data directory '" + dir.string() + "' is not a directory");
  }
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Writes a fresh secret to a private temporary file, then link()s it to `path`. link() never
// replaces an existing name, so the secret appears under `path` complete or not at all, and of
// two processes starting at once exactly one wins; the loser reads the winner's file.
// Returns false if `path` already existed.
bool try_create_secret_file(const std::filesystem::path& path) {
  std::array<std::uint8_t, 32> raw{};
  openssl_random_source{}.fill(raw);
  std::string hex = to_hex(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  const secret hex_guard(std::move(hex));

  std::array<std::uint8_t, 8> tag{};
  openssl_random_source{}.fill(tag);
  const std::string tmp = path.string() + ".tmp-" + to_hex(tag);

  {
    fd_guard f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (f.fd < 0) {
      const int err = errno;
      config_error(tmp, "cannot be created: " + errno_text(err));
    }
    // The umask can only remove bits; set exactly 0600 regardless.
    const bool ok =
        ::fchmod(f.fd, 0600) == 0 && write_all(f.fd, hex_guard.reveal()) && ::fsync(f.fd) == 0;
    if (!ok) {
      const int err = errno;
      ::unlink(tmp.c_str());
      config_error(tmp, "cannot be written: " + errno_text(err));
    }
  }

  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return false;
    config_error(path.string(), "cannot be created: " + errno_text(err));
  }
  // Make the new name durable before anything (an event's key hash) depends on it.
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  fd_guard d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);
  return true;
}

}  // namespace

// ---- random, clock --------------------------------------------------------------------------

void openssl_random_source::fill(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    const std::size_t chunk = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(chunk)) != 1) {
      // Returning predictable bytes would be worse than stopping: keys and ids depend on them.
      log(log_level::error, "csprng_failure", {{"detail", "RAND_bytes failed; aborting"}});
      std::abort();
    }
    out = out.subspan(chunk);
  }
}

void identifier_random_source::fill(std::span<std::uint8_t> out) {
  constexpr std::size_t block_size = 256;
  constexpr std::size_t direct_above = 64;
  if (out.size() > direct_above) return openssl_random_source{}.fill(out);
  // An empty span may have a null data(): memcpy's arguments must not be null (UBSan).
  if (out.empty()) return;
  struct block {
    std::array<std::uint8_t, block_size> bytes{};
    std::size_t used = block_size;
    ~block() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  };
  thread_local block b;
  if (block_size - b.used < out.size()) {
    openssl_random_source{}.fill(b.bytes);
    b.used = 0;
  }
  std::memcpy(out.data(), b.bytes.data() + b.used, out.size());
  OPENSSL_cleanse(b.bytes.data() + b.used, out.size());
  b.used += out.size();
}

domain::timestamp system_clock::now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// ---- SHA-256 --------------------------------------------------------------------------------

// OpenSSL 3.0 deprecates the low-level SHA256_* functions but keeps them as the direct
// implementation (the same SHA-NI/AVX code as the provider's). EVP_DigestInit_ex2 frees and
// allocates the provider's state on every digest, even into a kept context: a malloc per hash,
// and the audit monitor hashes three times per event of the log at start-up (hmac_key_hasher.cpp
// uses these functions for the same reason).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
sha256_digest sha256(std::string_view data) {
  SHA256_CTX ctx;
  sha256_digest out{};
  const bool ok = SHA256_Init(&ctx) == 1 && SHA256_Update(&ctx, data.data(), data.size()) == 1 &&
                  SHA256_Final(out.data(), &ctx) == 1;
  // The state on the stack is derived from the data (a PKCE verifier, for one): wiped.
  OPENSSL_cleanse(&ctx, sizeof ctx);
  if (!ok) throw error(errc::internal, "OpenSSL: SHA-256 failed");
  return out;
}
#pragma GCC diagnostic pop

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) throw std::bad_alloc();
  if (EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), fetched_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    throw error(errc::internal, "OpenSSL: SHA-256 init failed");
  }
}

sha256_hasher::~sha256_hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void sha256_hasher::update(std::string_view data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) {
    throw error(errc::internal, "OpenSSL: SHA-256 update failed");
  }
}

void sha256_hasher::update(std::span<const std::uint8_t> data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) {
    throw error(errc::internal, "OpenSSL: SHA-256 update failed");
  }
}

sha256_digest sha256_hasher::finish() {
  sha256_digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len) != 1 ||
      len != out.size()) {
    throw error(errc::internal, "OpenSSL: SHA-256 final failed");
  }
  return out;
}

// ---- hex ------------------------------------------------------------------------------------

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = hex_digits[bytes[i] >> 4];
    out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
  }
  return out;
}

bool from_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = domain::hex_value(hex[2 * i]);
    const int lo = domain::hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

// ---- server secret --------------------------------------------------------------------------

secret load_server_secret(const config& cfg) {
  if (!cfg.secret_file.empty()) return read_secret_file(cfg.secret_file);
  const std::filesystem::path dir(cfg.data_dir.empty() ? std::string(".") : cfg.data_dir);
  return read_secret_file((dir / "server.secret").string());
}

secret load_or_create_server_secret(const config& cfg) {
  if (!cfg.secret_file.empty()) return read_secret_file(cfg.secret_file);

  const std::filesystem::path dir(cfg.data_dir.empty() ? std::string(".") : cfg.data_dir);
  const std::filesystem::path path = dir / "server.secret";
  ensure_private_dir(dir);
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    try_create_secret_file(path);  // false: another process created it first; read theirs
  }
  return read_secret_file(path.string());
}

}  // namespace keyledger::infra

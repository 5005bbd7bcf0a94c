// http_client over https: certificate and host name verification, SNI, deadlines on the
// handshake, connection reuse and the retry on a dropped connection, close_notify on close.
// The PKI is made here with the OpenSSL C API (a throwaway CA and server certificates), the
// server is a Beast ssl_stream on its own thread on 127.0.0.1, port 0.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "infra/http/client.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using keyledger::infra::client_request;
using keyledger::infra::http_client;
using keyledger::infra::http_client_options;
using keyledger::infra::http_endpoint;
using keyledger::infra::parse_http_url;

/// No single operation in these tests legitimately takes longer than this.
constexpr auto io_deadline = 5s;

// ---- a throwaway PKI --------------------------------------------------------------------------

struct openssl_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <class T>
using owned = std::unique_ptr<T, openssl_free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

owned<EVP_PKEY> new_key() {
  owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

struct certificate_spec {
  std::string common_name;
  std::string subject_alt_names;  ///< e.g. "DNS:localhost,IP:127.0.0.1"; "" for none
  bool ca = false;
  long not_before_days = -1;  ///< relative to now
  long not_after_days = 30;
};

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const std::string& value) {
  owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

/// A certificate for `key`, signed by `issuer_key` in the name of `issuer` (self-signed when
/// issuer is null).
owned<X509> make_certificate(const certificate_spec& spec, EVP_PKEY* key, X509* issuer,
                             EVP_PKEY* issuer_key) {
  static std::atomic<long> serial{1};
  owned<X509> cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++) == 1, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_days * 86400) != nullptr,
        "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_days * 86400) != nullptr,
        "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                   -1, -1, 0) == 1,
        "CN");
  check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) == 1,
        "issuer");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), ctx, NID_basic_constraints,
                spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(cert.get(), ctx, NID_key_usage,
                spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_extension(cert.get(), ctx, NID_subject_key_identifier, "hash");
  if (!spec.ca) {
    add_extension(cert.get(), ctx, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
  }
  if (!spec.subject_alt_names.empty()) {
    add_extension(cert.get(), ctx, NID_subject_alt_name, spec.subject_alt_names);
  }
  check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pem_of(X509* cert) {
  owned<BIO> bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return bio_text(bio.get());
}

std::string pem_of(EVP_PKEY* key) {
  owned<BIO> bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return bio_text(bio.get());
}

/// What a TLS server presents: its certificate and private key, PEM.
struct server_identity {
  std::string certificate_pem;
  std::string key_pem;
};

/// A CA that exists for one test.
class test_ca {
 public:
  explicit test_ca(std::string name = "keyledger test CA")
      : key_(new_key()),
        cert_(make_certificate({std::move(name), "", true}, key_.get(), nullptr, nullptr)) {}

  std::string pem() const { return pem_of(cert_.get()); }

  server_identity issue(const certificate_spec& spec) const {
    auto key = new_key();
    auto cert = make_certificate(spec, key.get(), cert_.get(), key_.get());
    return {pem_of(cert.get()), pem_of(key.get())};
  }

 private:
  owned<EVP_PKEY> key_;
  owned<X509> cert_;
};

certificate_spec for_localhost() { return {"localhost", "DNS:localhost,IP:127.0.0.1"}; }

// ---- a TLS server -----------------------------------------------------------------------------

/// A TLS HTTP/1.1 server on 127.0.0.1 (port 0) on its own thread. It answers every request 200
/// with "connection-index target" as the body and keeps the connection, until
/// `requests_per_connection` answers: then it drops the connection without close_notify (as a
/// server closing idle connections may). When the client sends close_notify it answers with its
/// own. It records what it saw.
class tls_server {
 public:
  explicit tls_server(const server_identity& identity, std::size_t requests_per_connection = 100)
      : requests_per_connection_(requests_per_connection) {
    context_.use_certificate_chain(asio::buffer(identity.certificate_pem));
    context_.use_private_key(asio::buffer(identity.key_pem), ssl::context::pem);
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    runner_ = std::thread([this] { ioc_.run(); });
  }
  ~tls_server() {
    ioc_.stop();
    runner_.join();
  }

  std::uint16_t port() const { return port_; }

  /// TCP connections accepted so far.
  int accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  /// "connection-index METHOD target" per request received, in order.
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  /// The SNI name of each completed handshake ("" when the client sent none).
  std::vector<std::string> server_names() {
    std::lock_guard lock(mutex_);
    return server_names_;
  }

  /// Waits up to io_deadline for `n` failed handshakes.
  bool wait_for_failed_handshakes(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, io_deadline, [&] { return failed_handshakes_ >= n; });
  }
  /// Waits up to io_deadline for `n` connections the client ended with close_notify.
  bool wait_for_close_notifies(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, io_deadline, [&] { return close_notifies_ >= n; });
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      int index = 0;
      {
        std::lock_guard lock(mutex_);
        index = accepted_++;
      }
      asio::co_spawn(ioc_, serve(std::move(socket), index), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket, int index) {
    // Header and body may leave as two TLS records: without this, Nagle holds the second
    // until the client's delayed ACK.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), context_);
    beast::get_lowest_layer(stream).expires_after(io_deadline);
    auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::server,
                                                          asio::as_tuple(asio::use_awaitable));
    if (handshake_ec) {
      note([&] { ++failed_handshakes_; });
      co_return;
    }
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    note([&] { server_names_.emplace_back(sni ? sni : ""); });

    beast::flat_buffer buffer;
    for (std::size_t n = 0; n < requests_per_connection_; ++n) {
      http::request<http::string_body> req;
      beast::get_lowest_layer(stream).expires_after(io_deadline);
      auto [read_ec, bytes] =
          co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (read_ec == http::error::end_of_stream) {
        // The client's close_notify: answer with ours.
        note([&] { ++close_notifies_; });
        co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
        co_return;
      }
      if (read_ec) co_return;
      note([&] {
        seen_.push_back(std::to_string(index) + " " + std::string(req.method_string()) + " " +
                        std::string(req.target()));
      });
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = std::to_string(index) + " " + std::string(req.target());
      res.keep_alive(true);
      res.prepare_payload();
      auto [write_ec, written] =
          co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (write_ec) co_return;
    }
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream).socket().close(ignored);
  }

  template <class F>
  void note(F&& change) {
    std::lock_guard lock(mutex_);
    change();
    cv_.notify_all();
  }

  ssl::context context_{ssl::context::tls_server};
  std::size_t requests_per_connection_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::thread runner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int accepted_ = 0;
  int failed_handshakes_ = 0;
  int close_notifies_ = 0;
  std::vector<std::string> seen_;
  std::vector<std::string> server_names_;
};

http_endpoint tls_endpoint(std::string host, std::uint16_t port) {
  http_endpoint e;
  e.host = std::move(host);
  e.port = port;
  e.host_header = e.host + ":" + std::to_string(port);
  e.tls = true;
  return e;
}

http_client_options trusting(const test_ca& ca) {
  http_client_options o;
  o.ca_pem = ca.pem();
  return o;
}

client_request get(std::string target) {
  client_request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// ---- parse_http_url ---------------------------------------------------------------------------

TEST(parse_https_url_test, accepts_https_with_443_by_default_and_a_base_path) {
  auto e = parse_http_url("https://keyledger.example.com");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "keyledger.example.com");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->base_path, "");
  EXPECT_EQ(e->host_header, "keyledger.example.com");

  e = parse_http_url("HTTPS://127.0.0.1:8443/api/v/");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8443);
  EXPECT_EQ(e->base_path, "/api/v");
  EXPECT_EQ(e->host_header, "127.0.0.1:8443");

  e = parse_http_url("https://[::1]/");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->host_header, "[::1]");

  e = parse_http_url("http://keyledger.example.com");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->port, 80);
}

TEST(parse_https_url_test, refuses_the_same_as_for_http_without_repeating_the_url) {
  const char* bad[] = {
      "https://",
      "https:/host",
      "https://user:hunter2@host",
      "https://host:0",
      "https://host:65536",
      "https://host/?hunter2=1",
      "https://host/#hunter2",
      "https://::1:443",
      "https://[::1",
      "https://ho st/",
  };
  for (const auto* url : bad) {
    auto e = parse_http_url(url);
    EXPECT_FALSE(e.ok()) << "accepted: " << url;
    if (!e.ok()) {
      EXPECT_FALSE(contains(e.error(), "hunter2")) << e.error();
      EXPECT_FALSE(e.error().empty()) << url;
    }
  }
}

// ---- over TLS ---------------------------------------------------------------------------------

TEST(http_client_tls_test, a_get_succeeds_when_the_ca_is_trusted) {
  test_ca ca;
  tls_server server(ca.issue(for_localhost()));
  http_client client(tls_endpoint("127.0.0.1", server.port()), trusting(ca));
  auto r = client.send(get("/v1/keys"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "0 /v1/keys");
  // An address is verified as such and not sent as SNI.
  EXPECT_EQ(server.server_names(), (std::vector<std::string>{""}));
}

TEST(http_client_tls_test, a_host_name_is_verified_and_sent_as_sni) {
  test_ca ca;
  tls_server server(ca.issue({"localhost", "DNS:localhost"}));
  http_client client(tls_endpoint("localhost", server.port()), trusting(ca));
  auto r = client.send(get("/a"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "0 /a");
  EXPECT_EQ(server.server_names(), (std::vector<std::string>{"localhost"}));
}

TEST(http_client_tls_test, a_ca_file_is_trusted) {
  test_ca ca;
  tls_server server(ca.issue(for_localhost()));
  const std::string path = ::testing::TempDir() + "keyledger_client_tls_test_ca_" +
                           std::to_string(server.port()) + ".pem";
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << ca.pem();
    ASSERT_TRUE(file.good());
  }
  http_client_options options;
  options.ca_file = path;
  http_client client(tls_endpoint("127.0.0.1", server.port()), options);
  auto r = client.send(get("/a"));
  std::remove(path.c_str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "0 /a");
}

TEST(http_client_tls_test, an_unusable_ca_setting_is_an_error_and_nothing_is_sent) {
  test_ca ca;
  tls_server server(ca.issue(for_localhost()));
  http_client_options missing;
  missing.ca_file = ::testing::TempDir() + "keyledger_client_tls_test_no_such_ca.pem";
  http_client client(tls_endpoint("127.0.0.1", server.port()), missing);
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "cannot load the CA file")) << r.error().message;

  http_client_options garbage;
  garbage.ca_pem =
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
  http_client client2(tls_endpoint("127.0.0.1", server.port()), garbage);
  auto r2 = client2.send(get("/a"));
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(contains(r2.error().message, "cannot load the CA certificates"))
      << r2.error().message;
  EXPECT_EQ(server.accepted(), 0);
}

TEST(http_client_tls_test, an_untrusted_ca_is_an_unknown_issuer) {
  test_ca ca;
  tls_server server(ca.issue(for_localhost()));
  // The system store, which has never heard of this CA.
  http_client client(tls_endpoint("127.0.0.1", server.port()));
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "TLS certificate verification failed"))
      << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "unknown issuer")) << r.error().message;
  EXPECT_TRUE(server.wait_for_failed_handshakes(1));
  EXPECT_TRUE(server.seen().empty());

  // Trusting only another CA is no better.
  test_ca other("another CA");
  http_client client2(tls_endpoint("127.0.0.1", server.port()), trusting(other));
  auto r2 = client2.send(get("/a"));
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(contains(r2.error().message, "unknown issuer")) << r2.error().message;
}

TEST(http_client_tls_test, a_certificate_for_another_host_name_is_a_hostname_mismatch) {
  test_ca ca;
  tls_server server(ca.issue({"other.example", "DNS:other.example,IP:127.0.0.2"}));
  http_client client(tls_endpoint("localhost", server.port()), trusting(ca));
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "TLS certificate verification failed"))
      << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "hostname mismatch")) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "another host")) << r.error().message;

  // The same certificate reached by address: the address is checked, not the name.
  http_client by_address(tls_endpoint("127.0.0.1", server.port()), trusting(ca));
  auto r2 = by_address.send(get("/a"));
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(contains(r2.error().message, "IP address mismatch")) << r2.error().message;
  EXPECT_TRUE(server.wait_for_failed_handshakes(2));
  EXPECT_TRUE(server.seen().empty());
}

TEST(http_client_tls_test, an_expired_certificate_is_refused) {
  test_ca ca;
  auto spec = for_localhost();
  spec.not_before_days = -10;
  spec.not_after_days = -1;
  tls_server server(ca.issue(spec));
  http_client client(tls_endpoint("127.0.0.1", server.port()), trusting(ca));
  auto r = client.send(get("/a"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "TLS certificate verification failed"))
      << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "expired")) << r.error().message;
}

TEST(http_client_tls_test, two_requests_share_one_connection) {
  test_ca ca;
  tls_server server(ca.issue(for_localhost()));
  http_client client(tls_endpoint("127.0.0.1", server.port()), trusting(ca));
  for (int i = 0; i < 2; ++i) {
    auto r = client.send(get("/r" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, "0 /r" + std::to_string(i));
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /r0", "0 GET /r1"}));
}

TEST(http_client_tls_test, an_idempotent_request_on_a_dropped_connection_goes_again) {
  test_ca ca;
  // Each connection answers once, then ends without close_notify.
  tls_server server(ca.issue(for_localhost()), 1);
  http_client client(tls_endpoint("127.0.0.1", server.port()), trusting(ca));
  ASSERT_TRUE(client.send(get("/a")).ok());
  auto r = client.send(get("/b"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "1 /b");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.seen(), (std::vector<std::string>{"0 GET /a", "1 GET /b"}));
}

TEST(http_client_tls_test, closing_the_client_sends_close_notify) {
  test_ca ca;
  tls_server server(ca.issue(for_localhost()));
  {
    http_client client(tls_endpoint("127.0.0.1", server.port()), trusting(ca));
    ASSERT_TRUE(client.send(get("/a")).ok());
  }
  EXPECT_TRUE(server.wait_for_close_notifies(1));
}

TEST(http_client_tls_test, a_server_that_never_answers_the_handshake_is_a_timeout) {
  // Listening but never accepting: the kernel completes TCP, nobody speaks TLS.
  asio::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  test_ca ca;
  http_client_options options = trusting(ca);
  options.connect_timeout = 300ms;
  http_client client(tls_endpoint("127.0.0.1", silent.local_endpoint().port()), options);
  const auto start = std::chrono::steady_clock::now();
  auto r = client.send(get("/a"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "TLS handshake")) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "within 300 ms")) << r.error().message;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(http_client_tls_test, a_plain_http_server_is_a_handshake_failure) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  std::thread plain([&] {
    beast::error_code ec;
    tcp::socket socket(ioc);
    acceptor.accept(socket, ec);
    if (ec) return;
    const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    asio::write(socket, asio::buffer(answer), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  });
  test_ca ca;
  http_client client(tls_endpoint("127.0.0.1", port), trusting(ca));
  auto r = client.send(get("/a"));
  plain.join();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "the TLS handshake with 127.0.0.1:"))
      << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "failed")) << r.error().message;
}

}  // namespace

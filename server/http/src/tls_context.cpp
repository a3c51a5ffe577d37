#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "oshin/http/tls.hpp"

namespace oshin::http {
namespace {

namespace ssl = boost::asio::ssl;

constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr unsigned char kSessionIdContext[] = "oshin";

// The oldest queued OpenSSL error as text (library and reason, never data), and an empty queue.
std::string openssl_reason() {
  unsigned long code = ERR_peek_error();
  std::string text;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    const char* lib = ERR_lib_error_string(code);
    text = std::string(lib != nullptr ? lib : "OpenSSL") + ": " +
           (reason != nullptr ? reason : "error " + std::to_string(code));
  } else {
    text = "unknown OpenSSL error";
  }
  ERR_clear_error();
  return text;
}

// Whether OpenSSL's error queue holds (lib, reason); the queue is left as it is.
bool has_error(int lib, int reason) {
  for (unsigned long code : {ERR_peek_error(), ERR_peek_last_error()}) {
    if (code != 0 && ERR_GET_LIB(code) == lib && ERR_GET_REASON(code) == reason) {
      return true;
    }
  }
  return false;
}

Result<void> fail(std::string* error, std::string message) {
  ERR_clear_error();
  if (error != nullptr) {
    *error = std::move(message);
  }
  return Errc::invalid_argument;
}

// A clear message for the common mistakes (missing file, no permission) before OpenSSL's.
Result<void> check_readable(const char* field, const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(error, std::string(field) + ": cannot open " + path + ": " + std::strerror(errno));
  }
  return {};
}

// Never prompt on the terminal for a passphrase: an encrypted key is refused instead.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return 0;
}

Result<void> configure(SSL_CTX* ctx, const oshin::v1::ServerConfig::Tls& tls, std::string* error) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, 0) != 1) {
    return fail(error, "tls: cannot set the protocol versions: " + openssl_reason());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) {
    return fail(error, "tls: cannot set the cipher suites: " + openssl_reason());
  }
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return fail(error, "tls: cannot set the key exchange groups: " + openssl_reason());
  }
  // Server-side session cache only (no tickets); resumption needs a session id context when
  // client certificates are verified.
  if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
    return fail(error, "tls: cannot set the session id context: " + openssl_reason());
  }
  SSL_CTX_set_default_passwd_cb(ctx, &no_passphrase);

  const std::string& cert = tls.cert_file();
  const std::string& key = tls.key_file();
  if (auto ok = check_readable("tls.certFile", cert, error); !ok) {
    return ok;
  }
  if (auto ok = check_readable("tls.keyFile", key, error); !ok) {
    return ok;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    return fail(error, "tls.certFile: " + cert + " is not a PEM certificate chain (" +
                           openssl_reason() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (has_error(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH)) {
      return fail(error, "tls.keyFile: " + key + " does not match the certificate in " + cert);
    }
    return fail(error, "tls.keyFile: " + key + " is not an unencrypted PEM private key (" +
                           openssl_reason() + ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(error, "tls.keyFile: " + key + " does not match the certificate in " + cert);
  }
  if (X509* leaf = SSL_CTX_get0_certificate(ctx); leaf != nullptr) {
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
      spdlog::warn("tls: the certificate in {} has expired; clients will refuse it", cert);
    } else if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
      spdlog::warn("tls: the certificate in {} is not valid yet; clients will refuse it", cert);
    }
  }

  const std::string& client_ca = tls.client_ca_file();
  if (client_ca.empty()) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return {};
  }
  if (auto ok = check_readable("tls.clientCaFile", client_ca, error); !ok) {
    return ok;
  }
  if (SSL_CTX_load_verify_locations(ctx, client_ca.c_str(), nullptr) != 1) {
    return fail(error, "tls.clientCaFile: " + client_ca + " holds no usable CA certificate (" +
                           openssl_reason() + ")");
  }
  // The CA names the server sends, so a device picks the right certificate.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca.c_str());
  if (names == nullptr) {
    return fail(error, "tls.clientCaFile: " + client_ca + " holds no usable CA certificate (" +
                           openssl_reason() + ")");
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  int mode = SSL_VERIFY_PEER;
  if (tls.require_client_cert()) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx, mode, nullptr);
  return {};
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_tls_context(const oshin::v1::ServerConfig::Tls& tls,
                                                       std::string* error) {
  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    if (error != nullptr) {
      *error = std::string("tls: cannot create a TLS context: ") + e.what();
    }
    return Errc::internal;
  }
  if (auto ok = configure(context->native_handle(), tls, error); !ok) {
    return ok.error();
  }
  return context;
}

}  // namespace oshin::http

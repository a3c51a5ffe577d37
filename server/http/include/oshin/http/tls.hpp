#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "oshin/common/errc.hpp"
#include "oshin/v1/config.pb.h"

namespace oshin::http {

/// The TLS 1.2 cipher suites the listener offers: ECDHE key exchange (forward secrecy) with an
/// AEAD cipher only. TLS 1.3 suites are all ECDHE/AEAD; kTls13Suites lists them explicitly.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Builds the listener's server-side TLS context from `config.tls` (validated: certFile and
/// keyFile set): TLS 1.2 minimum, 1.3 allowed; kTls12Ciphers / kTls13Suites, server preference;
/// no compression, no renegotiation, no session tickets. Loads the certificate chain (PEM) and
/// the unencrypted private key (PEM) and checks they match. With clientCaFile, client
/// certificates are verified against it (required when requireClientCert, else optional).
/// On failure returns Errc::invalid_argument and sets `error` (when not null) to a message
/// naming the file and the reason; key material never appears in it. Start-up only.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const oshin::v1::ServerConfig::Tls& tls, std::string* error);

}  // namespace oshin::http

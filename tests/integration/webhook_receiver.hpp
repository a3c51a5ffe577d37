#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace oshin::testing {

/// A webhook receiver on 127.0.0.1:0 for the tests: records every POST, checks its
/// X-Oshin-Signature against the secret with its own HMAC-SHA256 (API.md "Visit summary and its
/// delivery"), answers 503 to the first `failures` attempts and 200 afterwards.
class WebhookReceiver {
 public:
  struct Attempt {
    std::string target;
    std::string body;
    std::string signature;  ///< the X-Oshin-Signature header as received
    bool signature_ok = false;
    long long signed_at = 0;  ///< the t= of the signature (unix seconds)
    unsigned answered = 0;    ///< the status this receiver answered
  };

  explicit WebhookReceiver(int failures);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  /// The URL to register as an organization's webhookUrl.
  std::string url() const;
  /// The secret the server issued for the organization (known only after registering).
  void set_secret(std::string secret);

  /// Waits until at least `n` attempts arrived; returns every attempt so far (fewer than `n`
  /// when the deadline passed).
  std::vector<Attempt> wait_attempts(std::size_t n, std::chrono::milliseconds deadline);
  std::vector<Attempt> attempts() const;

  /// The expected signature value v1=... of `body` at `unix_seconds` (independent HMAC).
  static std::string hmac_hex(const std::string& secret, const std::string& message);

  struct Impl;  ///< the listener and its connections (webhook_receiver.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace oshin::testing

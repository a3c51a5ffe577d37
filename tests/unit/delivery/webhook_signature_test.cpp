#include "oshin/delivery/webhook_signature.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace oshin::delivery {
namespace {

// HMAC-SHA256 computed independently of the code under test: OpenSSL's one-shot HMAC() over
// the concatenated message, hex-encoded here.
std::string reference_hmac_hex(const std::string& secret, const std::string& message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  const unsigned char* out = HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), mac.data(), &length);
  EXPECT_NE(out, nullptr);
  std::string hex;
  constexpr std::string_view kDigits = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kDigits[mac[i] >> 4U]);
    hex.push_back(kDigits[mac[i] & 0xFU]);
  }
  return hex;
}

TEST(WebhookSignature, KnownAnswer) {
  const std::string body = R"({"visitId":"v-1","findings":"stable"})";
  // From `printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac whsec_3f9a`.
  EXPECT_EQ(sign_webhook("whsec_3f9a", 1700000000, body),
            "t=1700000000,v1=286affabb591cc88c977581ffc8514e2cb592cec42c2b284f9b28d5d5e21ba08");
  EXPECT_EQ(sign_webhook("", 0, ""),
            "t=0,v1=b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3");
}

TEST(WebhookSignature, MatchesIndependentHmac) {
  const std::string binary("\x00\x01\xff{\"a\":1}\r\n", 11);
  const std::vector<std::string> secrets = {"s", "whsec_0123456789abcdef", std::string(100, 'k'),
                                            std::string("\x00key", 4)};
  const std::vector<std::string> bodies = {"", "{}", binary, std::string(70000, 'x')};
  const std::vector<std::int64_t> stamps = {1, 1700000000, 4102444800};
  for (const std::string& secret : secrets) {
    for (const std::string& body : bodies) {
      for (std::int64_t t : stamps) {
        const std::string expected = "t=" + std::to_string(t) + ",v1=" +
                                     reference_hmac_hex(secret, std::to_string(t) + "." + body);
        EXPECT_EQ(sign_webhook(secret, t, body), expected);
      }
    }
  }
}

TEST(WebhookSignature, VerifyAcceptsOwnSignatureWithinTolerance) {
  const std::string body = R"({"id":"in-1"})";
  const std::string header = sign_webhook("secret", 1000, body);
  EXPECT_TRUE(verify_webhook_signature(header, "secret", body, 1000, 0));
  EXPECT_TRUE(verify_webhook_signature(header, "secret", body, 1300, 300));
  EXPECT_TRUE(verify_webhook_signature(header, "secret", body, 700, 300));
  // Uppercase hex, spaces after commas, unknown keys and a second (stale) v1 are tolerated.
  std::string upper = header;
  for (std::size_t i = header.find("v1=") + 3; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  EXPECT_TRUE(verify_webhook_signature(upper, "secret", body, 1000, 5));
  const std::string rotated =
      "t=1000, v0=zzz, v1=" + std::string(64, '0') + "," + header.substr(header.find("v1="));
  EXPECT_TRUE(verify_webhook_signature(rotated, "secret", body, 1000, 5));
}

TEST(WebhookSignature, VerifyRejectsTamperedBodyWrongSecretAndStaleTimestamp) {
  const std::string body = R"({"id":"in-1","points":100})";
  const std::string header = sign_webhook("secret", 1000, body);
  EXPECT_FALSE(
      verify_webhook_signature(header, "secret", R"({"id":"in-1","points":900})", 1000, 300));
  EXPECT_FALSE(verify_webhook_signature(header, "secret", body + " ", 1000, 300));
  EXPECT_FALSE(verify_webhook_signature(header, "secreT", body, 1000, 300));
  EXPECT_FALSE(verify_webhook_signature(header, "", body, 1000, 300));
  // Too old, too far in the future, negative tolerance.
  EXPECT_FALSE(verify_webhook_signature(header, "secret", body, 1301, 300));
  EXPECT_FALSE(verify_webhook_signature(header, "secret", body, 699, 300));
  EXPECT_FALSE(verify_webhook_signature(header, "secret", body, 1000, -1));
  // A replayed signature with a rewritten timestamp no longer matches.
  std::string moved = header;
  moved.replace(0, 6, "t=1200");
  EXPECT_FALSE(verify_webhook_signature(moved, "secret", body, 1200, 300));
  // One flipped hex digit.
  std::string flipped = header;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(verify_webhook_signature(flipped, "secret", body, 1000, 300));
  // Extreme clocks do not overflow.
  EXPECT_FALSE(verify_webhook_signature(header, "secret", body, INT64_MIN, INT64_MAX));
  EXPECT_FALSE(verify_webhook_signature(header, "secret", body, INT64_MAX, 300));
}

TEST(WebhookSignature, VerifyRejectsMalformedHeaders) {
  const std::string body = "{}";
  const std::string good = sign_webhook("k", 1000, body);
  const std::string mac = good.substr(good.find("v1=") + 3);
  ASSERT_EQ(mac.size(), 64U);
  const std::vector<std::string> malformed = {
      "",
      "garbage",
      "t=1000",
      "v1=" + mac,
      "t=,v1=" + mac,
      "t=abc,v1=" + mac,
      "t=-1000,v1=" + mac,
      "t=+1000,v1=" + mac,
      "t=1000 ,v1=" + mac + "x",
      "t=1000,v1=" + mac.substr(1),
      "t=1000,v1=" + mac + "0",
      "t=1000,v1=" + std::string(63, 'a') + "g",
      "t=1000,v1=",
      "t=1000,t=1000,v1=" + mac,
      "t=1000,,v1=" + mac,
      "t=1000,=x,v1=" + mac,
      "t=1000;v1=" + mac,
      "t=1000000000000000000000,v1=" + mac,
      "t=1000,v1=" + mac + "," + std::string(2000, 'a') + "=1",
      std::string("t=1000,v1=") + std::string(32, '\0') + std::string(32, '0'),
  };
  for (const std::string& header : malformed) {
    EXPECT_FALSE(verify_webhook_signature(header, "k", body, 1000, 300)) << header;
  }
  std::string many = "t=1000";
  for (int i = 0; i < 9; ++i) {
    many += ",v1=" + mac;
  }
  EXPECT_FALSE(verify_webhook_signature(many, "k", body, 1000, 300));
  EXPECT_TRUE(verify_webhook_signature(good, "k", body, 1000, 300));
}

}  // namespace
}  // namespace oshin::delivery

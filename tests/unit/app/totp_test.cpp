// TOTP (RFC 6238) and base32 (RFC 4648) against the RFCs' own test vectors, plus the window and
// replay rules of verify_totp.
#include "oshin/app/totp.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace oshin::app {
namespace {

using namespace std::chrono_literals;

std::vector<unsigned char> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

SystemTime at_unix(std::int64_t seconds) {
  return SystemTime(std::chrono::seconds(seconds));
}

const std::vector<unsigned char> kRfcSecret = bytes("12345678901234567890");

TEST(Totp, Rfc6238AppendixBSha1EightDigits) {
  struct Case {
    std::int64_t t;
    const char* code;
  };
  const Case cases[] = {{59, "94287082"},
                        {1111111109, "07081804"},
                        {1111111111, "14050471"},
                        {1234567890, "89005924"},
                        {2000000000, "69279037"}};
  for (const Case& c : cases) {
    EXPECT_EQ(totp_code(kRfcSecret, at_unix(c.t), 8), c.code) << "T=" << c.t;
  }
  // T = 20000000000 (year 2603) is past what a 64-bit nanosecond clock holds: step 666666666.
  EXPECT_EQ(hotp(kRfcSecret, 20000000000ULL / 30, 8), "65353130");
}

TEST(Totp, SixDigitCodesAreTheLastSixDigitsOfTheRfcValues) {
  EXPECT_EQ(totp_code(kRfcSecret, at_unix(59)), "287082");
  EXPECT_EQ(totp_code(kRfcSecret, at_unix(1111111109)), "081804");  // leading zero kept
  EXPECT_EQ(totp_code(kRfcSecret, at_unix(1111111111)), "050471");
  EXPECT_EQ(totp_code(kRfcSecret, at_unix(1234567890)), "005924");
  EXPECT_EQ(totp_code(kRfcSecret, at_unix(2000000000)), "279037");
  EXPECT_EQ(hotp(kRfcSecret, 20000000000ULL / 30), "353130");
}

TEST(Totp, Rfc4226AppendixDHotpValues) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(hotp(kRfcSecret, counter), expected[counter]) << counter;
  }
}

TEST(Totp, StepsAreThirtySecondsFromTheEpoch) {
  EXPECT_EQ(totp_step(at_unix(0)), 0);
  EXPECT_EQ(totp_step(at_unix(29)), 0);
  EXPECT_EQ(totp_step(at_unix(30)), 1);
  EXPECT_EQ(totp_step(at_unix(59) + 999ms), 1);
  EXPECT_EQ(totp_step(at_unix(1111111109)), 37037036);
  EXPECT_EQ(totp_step(at_unix(-100)), 0);
}

TEST(Totp, VerifyAcceptsOneStepOfDriftEitherWayAndNoMore) {
  SystemTime now = at_unix(1234567890);  // step 41152263
  std::int64_t step = totp_step(now);
  for (std::int64_t d = -1; d <= 1; ++d) {
    std::string code = hotp(kRfcSecret, static_cast<std::uint64_t>(step + d));
    auto matched = verify_totp(kRfcSecret, code, now, 0);
    ASSERT_TRUE(matched) << d;
    EXPECT_EQ(*matched, step + d);
  }
  for (std::int64_t d : {-3, -2, 2, 3}) {
    std::string code = hotp(kRfcSecret, static_cast<std::uint64_t>(step + d));
    EXPECT_FALSE(verify_totp(kRfcSecret, code, now, 0)) << d;
  }
}

TEST(Totp, AUsedStepOrAnEarlierOneIsRefused) {
  SystemTime now = at_unix(1234567890);
  std::int64_t step = totp_step(now);
  std::string code = hotp(kRfcSecret, static_cast<std::uint64_t>(step));
  auto first = verify_totp(kRfcSecret, code, now, 0);
  ASSERT_TRUE(first);
  EXPECT_FALSE(verify_totp(kRfcSecret, code, now, *first));
  // The previous step's code is refused once a later step was used, the next one still works.
  std::string previous = hotp(kRfcSecret, static_cast<std::uint64_t>(step - 1));
  EXPECT_FALSE(verify_totp(kRfcSecret, previous, now, *first));
  std::string next = hotp(kRfcSecret, static_cast<std::uint64_t>(step + 1));
  EXPECT_EQ(verify_totp(kRfcSecret, next, now, *first), step + 1);
}

TEST(Totp, MalformedCodesAreRefused) {
  SystemTime now = at_unix(59);
  EXPECT_TRUE(verify_totp(kRfcSecret, "287082", now, 0));
  for (std::string_view bad :
       {"", "28708", "2870820", " 287082", "28708a", "２８７０８２", "-28708", "287082\n"}) {
    EXPECT_FALSE(verify_totp(kRfcSecret, bad, now, 0)) << bad;
  }
}

TEST(Base32, Rfc4648Section10Vectors) {
  struct Case {
    const char* plain;
    const char* encoded;
  };
  const Case cases[] = {{"", ""},
                        {"f", "MY======"},
                        {"fo", "MZXQ===="},
                        {"foo", "MZXW6==="},
                        {"foob", "MZXW6YQ="},
                        {"fooba", "MZXW6YTB"},
                        {"foobar", "MZXW6YTBOI======"}};
  for (const Case& c : cases) {
    EXPECT_EQ(base32_encode(bytes(c.plain)), c.encoded) << c.plain;
    auto decoded = base32_decode(c.encoded);
    ASSERT_TRUE(decoded) << c.encoded;
    EXPECT_EQ(*decoded, bytes(c.plain));
  }
  EXPECT_EQ(base32_encode(bytes("foobar"), /*pad=*/false), "MZXW6YTBOI");
  EXPECT_EQ(base32_decode("mzxw6ytboi"), bytes("foobar"));  // lower case, no padding
  EXPECT_EQ(base32_encode(kRfcSecret, false), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Base32, GarbageIsRefused) {
  for (std::string_view bad : {"MZXW1YTB", "MZ XW6YTB", "M", "MZX", "MZXW6Y", "MZXW6YTB!", "0"}) {
    EXPECT_FALSE(base32_decode(bad)) << bad;
  }
}

TEST(Totp, SecretsAreTwentyRandomBytes) {
  std::set<std::vector<unsigned char>> seen;
  for (int i = 0; i < 8; ++i) {
    auto s = generate_totp_secret();
    EXPECT_EQ(s.size(), kTotpSecretBytes);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 8u);
}

TEST(Totp, OtpauthUriEncodesLabelAndIssuer) {
  EXPECT_EQ(otpauth_uri("Hino night center", "nurse.a", "GEZDGNBV"),
            "otpauth://totp/Hino%20night%20center:nurse.a?secret=GEZDGNBV"
            "&issuer=Hino%20night%20center&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace oshin::app

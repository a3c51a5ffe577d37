#include "oshin/delivery/webhook_url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace oshin::delivery {
namespace {

TEST(WebhookUrl, ParsesHttpAndHttps) {
  Result<WebhookUrl> a = parse_webhook_url("https://clinic.example/hooks/oshin?token=abc#frag");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "clinic.example");
  EXPECT_EQ(a->port, 443);
  EXPECT_FALSE(a->explicit_port);
  EXPECT_EQ(a->target, "/hooks/oshin?token=abc");
  EXPECT_EQ(a->host_header(), "clinic.example");
  EXPECT_EQ(a->redacted(), "https://clinic.example/hooks/oshin");

  Result<WebhookUrl> b = parse_webhook_url("HTTP://127.0.0.1:8081");
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->host, "127.0.0.1");
  EXPECT_EQ(b->port, 8081);
  EXPECT_EQ(b->target, "/");
  EXPECT_EQ(b->host_header(), "127.0.0.1:8081");

  Result<WebhookUrl> c = parse_webhook_url("http://[::1]:9000?x=1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->target, "/?x=1");
  EXPECT_EQ(c->host_header(), "[::1]:9000");
  EXPECT_EQ(c->redacted(), "http://[::1]:9000/");

  Result<WebhookUrl> d = parse_webhook_url("http://hook.example");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->port, 80);
}

TEST(WebhookUrl, RejectsWhatIsNotAPlainHttpUrl) {
  const std::vector<std::string> bad = {
      "",
      "ftp://x/",
      "http:/x",
      "http://",
      "http:///path",
      "https://user:pw@host/",
      "http://host:0/",
      "http://host:65536/",
      "http://host:/",
      "http://host:80x/",
      "http://ho st/",
      "http://host/a b",
      "http://host/\r\nX-Evil: 1",
      "http://h\xc3\xa9st/",
      "http://[::1/",
      "http://[]/",
      "http://[::1]x/",
      "http://[fe80::1%eth0]/",
      "http://host!/",
      "http://" + std::string(2100, 'a') + "/",
      std::string("http://host/\0", 13),
  };
  for (const std::string& url : bad) {
    EXPECT_FALSE(parse_webhook_url(url).has_value()) << url;
  }
}

}  // namespace
}  // namespace oshin::delivery

namespace oshin::delivery {
namespace {

TEST(WebhookUrl, OnlyPublicAddressesArePublic) {
  for (const char* a : {"8.8.8.8", "1.1.1.1", "203.0.113.7", "172.32.0.1", "100.128.0.1",
                        "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(is_public_address(boost::asio::ip::make_address(a))) << a;
  }
  for (const char* a : {"127.0.0.1",
                        "127.1.2.3",
                        "10.0.0.1",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "224.0.0.1",
                        "255.255.255.255",
                        "198.18.0.1",
                        "::1",
                        "::",
                        "fe80::1",
                        "fc00::1",
                        "fd12:3456::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.1.2.3"}) {
    EXPECT_FALSE(is_public_address(boost::asio::ip::make_address(a))) << a;
  }
}

}  // namespace
}  // namespace oshin::delivery

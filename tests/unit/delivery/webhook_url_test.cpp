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

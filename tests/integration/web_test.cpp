// The web client as the server serves it: embedded files, types, caching and CSP headers.
#include <gtest/gtest.h>

#include "fixture.hpp"

namespace oshin::testing {
namespace {

using bhttp::verb;

class Web : public ServerSuite {};

constexpr const char* kBrowserAccept =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

TEST_F(Web, RootServesTheClientWithStrictHeaders) {
  auto r = http_call(port(), verb::get, "/", {}, {}, {{"Accept", kBrowserAccept}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  const std::string csp = r.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self' ws: wss:"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(r.body.find("<html lang=\"ja\">"), std::string::npos);
  EXPECT_NE(r.body.find("/app/app.js"), std::string::npos);
  // Nothing fetched from outside.
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
}

TEST_F(Web, AssetsCarryTheirTypes) {
  struct Case {
    const char* path;
    const char* accept;
    const char* type;
  };
  for (const Case& c : {Case{"/app/app.js", "*/*", "text/javascript; charset=utf-8"},
                        Case{"/app/views/staff.js", "*/*", "text/javascript; charset=utf-8"},
                        Case{"/app/app.css", "text/css,*/*;q=0.1", "text/css; charset=utf-8"},
                        Case{"/app/index.html", kBrowserAccept, "text/html; charset=utf-8"}}) {
    auto r = http_call(port(), verb::get, c.path, {}, {}, {{"Accept", c.accept}});
    EXPECT_EQ(r.status, 200u) << c.path;
    EXPECT_EQ(r.header("content-type"), c.type) << c.path;
    EXPECT_FALSE(r.body.empty()) << c.path;
    EXPECT_FALSE(r.header("content-security-policy").empty()) << c.path;
  }
}

TEST_F(Web, UnknownAssetsAndEscapesAre404) {
  for (const char* path : {"/app/nope.js", "/app/../CMakeLists.txt", "/app/%2e%2e/secret",
                           "/app/views/../../x", "/app/"}) {
    auto r = http_call(port(), verb::get, path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(r.error_code(), "NOT_FOUND") << path;
  }
  // Only GET (and HEAD).
  EXPECT_EQ(http_call(port(), verb::post, "/app/app.js").status, 405u);
}

TEST_F(Web, AnAcceptThatAllowsNoAssetTypeIs406) {
  auto r = http_call(port(), verb::get, "/", {}, {}, {{"Accept", "application/x-protobuf"}});
  EXPECT_EQ(r.status, 406u);
}

TEST_F(Web, CenterNeedsASignedInCallerAndNamesTheServiceArea) {
  EXPECT_EQ(http_call(port(), verb::get, "/v1/center").status, 401u);
  auto r = http_call(port(), verb::get, "/v1/center", {}, admin_token());
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_DOUBLE_EQ(r.json().at("location").at("lat").as_double(), 35.6716);
  EXPECT_DOUBLE_EQ(r.json().at("serviceRadiusKm").as_double(), 16.0);
  EXPECT_EQ(r.json().at("timezone").as_string(), "Asia/Tokyo");
}

}  // namespace
}  // namespace oshin::testing

// The malformed-request table: what the server answers to broken, hostile or merely odd HTTP,
// case by case, over real sockets. Each case gets a fresh connection and one exact expectation:
// the status, the API error code, and whether the server closes the connection afterwards.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixture.hpp"

namespace oshin::testing {
namespace {

struct Case {
  const char* name;
  std::string bytes;
  unsigned status;
  const char* code;  // the error code of the body
  bool closes;       // the server closes the connection after answering
};

// A request with Host and (unless `raw_length`) a correct Content-Length.
std::string request(const std::string& line, const std::vector<std::string>& headers = {},
                    const std::string& body = {}, bool with_length = true) {
  std::string out = line + "\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) {
    out += h + "\r\n";
  }
  if (with_length && !body.empty()) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return out + "\r\n" + body;
}

class Malformed : public ServerSuite {};

TEST_F(Malformed, EveryCaseGetsItsExactAnswer) {
  const std::string auth = "Authorization: Bearer " + admin_token();
  const std::string json_type = "Content-Type: application/json";
  const std::string login_body = R"({"username":"nobody","password":"wrong password 1"})";
  std::string deep(5000, '[');
  const std::vector<Case> cases = {
      // The request line.
      {"garbage request line", "HELLO\r\n\r\n", 400, "MALFORMED_REQUEST", true},
      // Methods are case-sensitive: "get" is an unknown method, not GET.
      {"lowercase method token", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405,
       "METHOD_NOT_ALLOWED", false},
      {"missing version", "GET /healthz\r\nHost: x\r\n\r\n", 400, "MALFORMED_REQUEST", true},
      {"unknown method on a known path", request("BREW /v1/login HTTP/1.1"), 405,
       "METHOD_NOT_ALLOWED", false},
      {"other method on a known path", request("DELETE /v1/login HTTP/1.1"), 405,
       "METHOD_NOT_ALLOWED", false},
      {"unknown path", request("GET /v2/nothing HTTP/1.1"), 404, "NOT_FOUND", false},
      {"asterisk target", request("GET * HTTP/1.1"), 400, "MALFORMED_REQUEST", false},
      {"dot-dot segment", request("GET /v1/../healthz HTTP/1.1"), 404, "NOT_FOUND", false},
      {"encoded dot-dot segment", request("GET /v1/%2e%2e/healthz HTTP/1.1"), 404, "NOT_FOUND",
       false},
      {"bad percent escape in the path", request("GET /v1/users/%zz HTTP/1.1", {auth}), 400,
       "MALFORMED_REQUEST", false},
      {"bad percent escape in the query", request("GET /v1/audit?from=%zz HTTP/1.1", {auth}), 400,
       "MALFORMED_REQUEST", false},
      // Headers.
      {"header line without a colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
       400, "MALFORMED_REQUEST", true},
      {"space in a header name", "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400,
       "MALFORMED_REQUEST", true},
      // RFC 9112 5.2 lets a server replace obs-fold with spaces instead of refusing it.
      {"obsolete line folding", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
       200, "", false},
      {"NUL in a header value",
       std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 44), 400,
       "MALFORMED_REQUEST", true},
      {"header block over 8 KiB",
       request("GET /healthz HTTP/1.1", {"X-Padding: " + std::string(9000, 'a')}), 431,
       "HEADERS_TOO_LARGE", true},
      // Framing.
      {"Content-Length with Transfer-Encoding",
       request("POST /v1/login HTTP/1.1",
               {json_type, "Content-Length: 5", "Transfer-Encoding: chunked"}, "0\r\n\r\n", false),
       400, "MALFORMED_REQUEST", true},
      {"two different Content-Lengths",
       request("POST /v1/login HTTP/1.1", {json_type, "Content-Length: 2", "Content-Length: 3"},
               "{}", false),
       400, "MALFORMED_REQUEST", true},
      {"non-numeric Content-Length",
       request("POST /v1/login HTTP/1.1", {json_type, "Content-Length: ten"}, "{}", false), 400,
       "MALFORMED_REQUEST", true},
      {"negative Content-Length",
       request("POST /v1/login HTTP/1.1", {json_type, "Content-Length: -1"}, "{}", false), 400,
       "MALFORMED_REQUEST", true},
      {"declared body over 64 KiB",
       request("POST /v1/login HTTP/1.1", {json_type, "Content-Length: 70000"}, "", false), 413,
       "PAYLOAD_TOO_LARGE", true},
      {"chunked body over 64 KiB",
       request("POST /v1/login HTTP/1.1", {json_type, "Transfer-Encoding: chunked"},
               "11170\r\n" + std::string(70000, 'a') + "\r\n0\r\n\r\n", false),
       413, "PAYLOAD_TOO_LARGE", true},
      {"bad chunk size",
       request("POST /v1/login HTTP/1.1", {json_type, "Transfer-Encoding: chunked"},
               "zz\r\n{}\r\n0\r\n\r\n", false),
       400, "MALFORMED_REQUEST", true},
      // Bodies: anything that does not decode into the request message is INVALID_ARGUMENT.
      {"truncated JSON", request("POST /v1/login HTTP/1.1", {json_type}, "{\"username\":"), 400,
       "INVALID_ARGUMENT", false},
      {"JSON array instead of an object", request("POST /v1/login HTTP/1.1", {json_type}, "[]"),
       400, "INVALID_ARGUMENT", false},
      {"JSON nested 5000 deep", request("POST /v1/login HTTP/1.1", {json_type}, deep), 400,
       "INVALID_ARGUMENT", false},
      {"invalid UTF-8 in a string",
       request("POST /v1/login HTTP/1.1", {json_type},
               "{\"username\":\"\xff\xfe\",\"password\":\"x\"}"),
       400, "INVALID_ARGUMENT", false},
      {"unknown JSON field",
       request("POST /v1/login HTTP/1.1", {json_type}, R"({"username":"a","colour":"red"})"), 400,
       "INVALID_ARGUMENT", false},
      {"wrong JSON type", request("POST /v1/login HTTP/1.1", {json_type}, R"({"username":5})"), 400,
       "INVALID_ARGUMENT", false},
      {"form-encoded body",
       request("POST /v1/login HTTP/1.1", {"Content-Type: application/x-www-form-urlencoded"},
               "username=a"),
       415, "UNSUPPORTED_MEDIA_TYPE", false},
      {"garbage protobuf",
       request("POST /v1/login HTTP/1.1", {"Content-Type: application/x-protobuf"},
               "\xff\xff\xff\xff"),
       400, "INVALID_ARGUMENT", false},
      {"Accept allowing nothing we speak",
       request("POST /v1/login HTTP/1.1", {json_type, "Accept: image/png"}, login_body), 406,
       "NOT_ACCEPTABLE", false},
      // Credentials.
      {"no token", request("GET /v1/me HTTP/1.1"), 401, "UNAUTHENTICATED", false},
      {"Basic instead of Bearer", request("GET /v1/me HTTP/1.1", {"Authorization: Basic YTpi"}),
       401, "UNAUTHENTICATED", false},
      {"empty Bearer", request("GET /v1/me HTTP/1.1", {"Authorization: Bearer"}), 401,
       "UNAUTHENTICATED", false},
      {"unknown token", request("GET /v1/me HTTP/1.1", {"Authorization: Bearer abcdef"}), 401,
       "UNAUTHENTICATED", false},
      {"two Authorization headers", request("GET /v1/me HTTP/1.1", {auth, auth}), 401,
       "UNAUTHENTICATED", false},
      // Query parameters.
      {"instant that is not RFC 3339", request("GET /v1/audit?from=yesterday HTTP/1.1", {auth}),
       400, "INVALID_ARGUMENT", false},
      {"Idempotency-Key over 255 characters",
       request("POST /v1/organizations HTTP/1.1",
               {json_type, auth, "Idempotency-Key: " + std::string(300, 'k')},
               R"({"name":"Org","kind":"CLINIC"})"),
       400, "INVALID_ARGUMENT", false},
  };
  ASSERT_GE(cases.size(), 30u);
  for (const Case& c : cases) {
    HttpClient client(port(), std::chrono::seconds(10));
    HttpResult r = client.raw(c.bytes);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(r.error_code(), c.code) << c.name << ": " << r.body;
    if (c.closes) {
      EXPECT_TRUE(r.closed || client.wait_closed(std::chrono::seconds(5))) << c.name;
    } else {
      EXPECT_FALSE(r.closed) << c.name;
    }
  }
  // After all of that the server is still serving.
  EXPECT_EQ(http_call(port(), bhttp::verb::get, "/healthz").status, 200u);
}

}  // namespace
}  // namespace oshin::testing

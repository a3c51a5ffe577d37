// TLS on the listener: HTTPS and wss with a throwaway PKI made at test time (openssl CLI), the
// real server binary on 127.0.0.1:0, real sockets. See docs/SECURITY.md "TLS".
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
namespace net = boost::asio;
namespace beast = boost::beast;
using bhttp::verb;
using namespace std::chrono_literals;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

// The TLS block of a config naming the PKI's server certificate, plus `extra` TLS fields.
json::object tls_block(const TestPki& pki, json::object extra = {}) {
  json::object tls{{"certFile", pki.server_cert.string()}, {"keyFile", pki.server_key.string()}};
  for (auto& [k, v] : extra) {
    tls[k] = v;
  }
  return tls;
}

std::string write_config(const std::filesystem::path& dir, json::object config) {
  auto path = dir / "config.json";
  std::ofstream(path) << json::serialize(config);
  return path.string();
}

// A server started with `config`. The system OpenSSL configuration is left out
// (OPENSSL_CONF=/dev/null) so the server's own TLS settings are what the tests see.
RunningServer start_tls_server(const std::filesystem::path& dir, json::object config) {
  config["serviceHours"] = json::object{{"always", true}};
  std::string path = write_config(dir, std::move(config));
  return start_server(dir / "data", {"--config", path}, {{"OPENSSL_CONF", "/dev/null"}});
}

TlsClientOptions trusting(const TestPki& pki) {
  TlsClientOptions o;
  o.ca_file = pki.ca_cert.string();
  return o;
}

std::string login_over_tls(unsigned short port, const TestPki& pki, const std::string& user,
                           const std::string& password) {
  TlsClient c(port, trusting(pki));
  auto r = c.post("/v1/login", js({{"username", user}, {"password", password}}));
  if (r.status != 200) {
    return "";
  }
  return str(r.json().at("token"));
}

// One TLS server (no client certificates) shared by the suite.
class TlsServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    pki_ = std::make_unique<TestPki>(make_test_pki(dir_->path() / "pki"));
    server_ = std::make_unique<RunningServer>(
        start_tls_server(dir_->path(), {{"tls", tls_block(*pki_)}}));
  }
  static void TearDownTestSuite() {
    if (server_) {
      server_->process->terminate();
      server_->process->wait_exit();
    }
    server_.reset();
    pki_.reset();
    dir_.reset();
  }
  static unsigned short port() { return server_->port; }
  static const TestPki& pki() { return *pki_; }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<TestPki> pki_;
  static std::unique_ptr<RunningServer> server_;
};
std::unique_ptr<TempDir> TlsServer::dir_;
std::unique_ptr<TestPki> TlsServer::pki_;
std::unique_ptr<RunningServer> TlsServer::server_;

TEST_F(TlsServer, StartUpLineNamesTheHttpsUrl) {
  std::string out = server_->process->output();
  EXPECT_NE(out.find("listening on 127.0.0.1:" + std::to_string(port()) +
                     " (https://127.0.0.1:" + std::to_string(port()) + "/"),
            std::string::npos)
      << out;
  // Key material never reaches the log.
  EXPECT_EQ(out.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(TlsServer, HealthzLoginAndAuthenticatedRequestOverTls13) {
  TlsClient c(port(), trusting(pki()));
  ASSERT_TRUE(c.handshake()) << c.error();
  EXPECT_EQ(c.version(), "TLSv1.3");
  auto health = c.get("/healthz");
  EXPECT_EQ(health.status, 200u) << c.error();
  auto login =
      c.post("/v1/login", js({{"username", "admin"}, {"password", ServerProcess::kAdminPassword}}));
  ASSERT_EQ(login.status, 200u) << login.body << c.error();
  std::string token = str(login.json().at("token"));
  // Same connection (keep-alive): an authenticated call, and token auth still applies.
  auto orgs = c.get("/v1/organizations", token);
  EXPECT_EQ(orgs.status, 200u) << orgs.body;
  EXPECT_EQ(c.get("/v1/organizations").status, 401u);
}

TEST_F(TlsServer, Tls12WorksWithForwardSecretAeadSuitesOnly) {
  TlsClientOptions o = trusting(pki());
  o.max_version = TLS1_2_VERSION;
  TlsClient c(port(), o);
  ASSERT_TRUE(c.handshake()) << c.error();
  EXPECT_EQ(c.version(), "TLSv1.2");
  std::string cipher = c.cipher();
  EXPECT_EQ(cipher.rfind("ECDHE-", 0), 0u) << cipher;
  EXPECT_TRUE(cipher.find("GCM") != std::string::npos ||
              cipher.find("CHACHA20") != std::string::npos)
      << cipher;
  std::string token = login_over_tls(port(), pki(), "admin", ServerProcess::kAdminPassword);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(c.get("/v1/organizations", token).status, 200u) << c.error();
  // No session tickets (SSL_OP_NO_TICKET): there is no ticket key to rotate or leak.
  EXPECT_FALSE(c.has_session_ticket());

  // A client offering each allowed suite alone gets it.
  for (const char* suite : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                            "ECDHE-RSA-CHACHA20-POLY1305"}) {
    TlsClientOptions one = o;
    one.ciphers = suite;
    TlsClient only(port(), one);
    ASSERT_TRUE(only.handshake()) << suite << ": " << only.error();
    EXPECT_EQ(only.cipher(), suite);
    EXPECT_EQ(only.get("/healthz").status, 200u);
  }
}

TEST_F(TlsServer, Tls12SuitesWithoutForwardSecrecyOrAeadAreRefused) {
  // RSA key exchange (no forward secrecy), CBC with HMAC (not AEAD), or both. The server's RSA
  // certificate could serve every one of them; only its cipher policy refuses.
  for (const char* suite :
       {"AES128-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "ECDHE-RSA-AES128-SHA256",
        "ECDHE-RSA-AES256-SHA", "DHE-RSA-AES128-GCM-SHA256"}) {
    TlsClientOptions o = trusting(pki());
    o.max_version = TLS1_2_VERSION;
    o.legacy = true;
    o.ciphers = suite;
    TlsClient c(port(), o);
    EXPECT_FALSE(c.handshake()) << suite << " was accepted: " << c.cipher();
    // The server said no (an alert), not the client.
    EXPECT_NE(c.error().find("alert handshake failure"), std::string::npos)
        << suite << ": " << c.error();
  }
}

TEST_F(TlsServer, Tls11AndTls10AreRefused) {
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    TlsClientOptions o = trusting(pki());
    o.legacy = true;
    o.min_version = TLS1_VERSION;
    o.max_version = version;
    TlsClient c(port(), o);
    EXPECT_FALSE(c.handshake()) << version << " accepted as " << c.version();
    EXPECT_NE(c.error().find("alert protocol version"), std::string::npos)
        << version << ": " << c.error();
  }
  // The same legacy client allowed TLS 1.2 gets in: the refusal above was the version.
  TlsClientOptions o = trusting(pki());
  o.legacy = true;
  o.min_version = TLS1_VERSION;
  TlsClient c(port(), o);
  EXPECT_TRUE(c.handshake()) << c.error();
}

TEST_F(TlsServer, PlainHttpToTheTlsPortIsNotServed) {
  HttpClient plain(port(), 10s);
  auto r = plain.get("/healthz");
  EXPECT_EQ(r.status, 0u) << r.body;
  EXPECT_TRUE(r.closed);
  // HTTPS on the same port goes on.
  TlsClient c(port(), trusting(pki()));
  EXPECT_EQ(c.get("/healthz").status, 200u) << c.error();
}

TEST_F(TlsServer, ClientThatDoesNotTrustTheCertificateFails) {
  TlsClientOptions o;
  o.ca_file = pki().other_ca_cert.string();
  TlsClient c(port(), o);
  EXPECT_FALSE(c.handshake());
  EXPECT_NE(c.error().find("certificate verify failed"), std::string::npos) << c.error();
}

TEST_F(TlsServer, WssStreamReceivesEvents) {
  std::string admin = login_over_tls(port(), pki(), "admin", ServerProcess::kAdminPassword);
  ASSERT_FALSE(admin.empty());
  TlsClient c(port(), trusting(pki()));
  auto org = [&](const std::string& name, const std::string& kind) {
    auto r = c.post("/v1/organizations", js({{"name", name}, {"kind", kind}}), admin);
    EXPECT_EQ(r.status, 201u) << r.body << c.error();
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  };
  auto user = [&](const std::string& name, const std::string& role, const std::string& in) {
    auto r = c.post("/v1/users",
                    js({{"username", name},
                        {"password", name + "-test-password"},
                        {"displayName", name},
                        {"role", role},
                        {"organizationId", in}}),
                    admin);
    EXPECT_EQ(r.status, 201u) << r.body << c.error();
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  };
  std::string station = org("TLS Station", "VISITING_NURSE_STATION");
  std::string clinic = org("TLS Clinic", "CLINIC");
  user("tlsnurse", "NURSE", station);
  std::string primary = user("tlsprimary", "PRIMARY_DOCTOR", clinic);
  std::string nurse = login_over_tls(port(), pki(), "tlsnurse", "tlsnurse-test-password");
  ASSERT_FALSE(nurse.empty());

  std::string error;
  auto stream = TlsStreamClient::connect(port(), trusting(pki()), nurse, &error);
  ASSERT_TRUE(stream) << error;
  // Without a token the upgrade over TLS is refused like over plain HTTP.
  EXPECT_FALSE(TlsStreamClient::connect(port(), trusting(pki()), "not-a-token", &error));

  auto patient = c.post("/v1/patients",
                        js({{"name", "Over TLS"},
                            {"birthDate", "1938-04-02"},
                            {"sex", "FEMALE"},
                            {"address", "Hino-shi 1-2-3"},
                            {"location", {{"lat", 35.6716}, {"lon", 139.3960}}},
                            {"primaryDoctorId", primary},
                            {"careTeamOrganizationIds", json::array{station}},
                            {"sharingConsent", true},
                            {"eligibility", {{"lastScheduledVisitDate", "2026-11-01"}}}}),
                        nurse);
  ASSERT_EQ(patient.status, 201u) << patient.body << c.error();
  auto visit = c.post("/v1/visits",
                      js({{"patientId", str(patient.json().at("id"))},
                          {"urgency", "URGENT"},
                          {"reason", "ACUTE_CHANGE"},
                          {"chiefComplaint", "fever"},
                          {"lifeThreatening", false}}),
                      nurse);
  ASSERT_EQ(visit.status, 201u) << visit.body << c.error();
  std::string visit_id = str(visit.json().at("id"));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    auto event = stream->next(5s);
    if (!event) {
      break;
    }
    seen = event->at("type").as_string() == "visitUpdated" &&
           event->at("visitUpdated").at("id").as_string() == visit_id;
  }
  EXPECT_TRUE(seen) << "no visitUpdated for " << visit_id << " over wss";
}

// Each connection in the TLS handshake holds a slot of its address; a silent one is dropped at
// the handshake deadline (headerTimeoutSeconds).
TEST(TlsLimits, HandshakeHasADeadlineAndCountsAgainstThePerAddressCap) {
  TempDir dir;
  TestPki pki = make_test_pki(dir.path() / "pki");
  auto server = start_tls_server(
      dir.path(), {{"tls", tls_block(pki)},
                   {"limits", {{"headerTimeoutSeconds", 2}, {"maxConnectionsPerAddress", 2}}}});
  net::io_context ioc;
  auto endpoint = net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port);
  std::vector<std::unique_ptr<beast::tcp_stream>> silent;
  for (int i = 0; i < 2; ++i) {
    silent.push_back(std::make_unique<beast::tcp_stream>(ioc));
    silent.back()->connect(endpoint);
  }
  // Both slots are held by clients that never start the handshake: a third is refused.
  TlsClient third(server.port, trusting(pki));
  EXPECT_FALSE(third.handshake()) << "served over the per-address cap";

  // The server closes a silent client at the deadline (2 s), not later.
  auto started = std::chrono::steady_clock::now();
  beast::error_code result = net::error::would_block;
  char byte = 0;
  silent[0]->expires_after(10s);
  silent[0]->async_read_some(net::buffer(&byte, 1),
                             [&result](beast::error_code ec, std::size_t) { result = ec; });
  ioc.run();
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(result == net::error::eof || result == net::error::connection_reset)
      << result.message();
  EXPECT_LT(waited, 8s);

  // With the silent ones gone, a client is served again.
  silent.clear();
  bool served = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    TlsClient c(server.port, trusting(pki));
    served = c.get("/healthz").status == 200;
  }
  EXPECT_TRUE(served);
  server.process->terminate();
  EXPECT_EQ(server.process->wait_exit(), 0);
}

class MutualTls : public ::testing::Test {
 protected:
  void SetUp() override { pki_ = std::make_unique<TestPki>(make_test_pki(dir_.path() / "pki")); }

  void start(bool require) {
    server_ = start_tls_server(dir_.path(),
                               {{"tls", tls_block(*pki_, {{"clientCaFile", pki_->ca_cert.string()},
                                                          {"requireClientCert", require}})}});
  }
  TlsClientOptions with_cert(const std::filesystem::path& cert, const std::filesystem::path& key,
                             int max_version = 0) {
    TlsClientOptions o = trusting(*pki_);
    o.cert_file = cert.string();
    o.key_file = key.string();
    o.max_version = max_version;
    return o;
  }
  void TearDown() override {
    if (server_.process) {
      server_.process->terminate();
      server_.process->wait_exit();
    }
  }

  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  RunningServer server_;
};

TEST_F(MutualTls, RequiredClientCertificate) {
  start(true);
  EXPECT_NE(server_.process->output().find("client certificate required"), std::string::npos);
  for (int version : {0, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == 0 ? "TLS 1.3" : "TLS 1.2");
    // No certificate: refused (over TLS 1.3 the alert arrives after the client's handshake).
    TlsClientOptions none = trusting(*pki_);
    none.max_version = version;
    TlsClient anonymous(server_.port, none);
    EXPECT_EQ(anonymous.get("/healthz").status, 0u);
    EXPECT_NE(anonymous.error().find("alert"), std::string::npos) << anonymous.error();

    // A certificate from another CA: refused.
    TlsClient stranger(server_.port, with_cert(pki_->stranger_cert, pki_->stranger_key, version));
    EXPECT_EQ(stranger.get("/healthz").status, 0u);
    EXPECT_NE(stranger.error().find("unknown ca"), std::string::npos) << stranger.error();

    // The device's certificate: served; it identifies the device, it does not log anyone in.
    TlsClient device(server_.port, with_cert(pki_->client_cert, pki_->client_key, version));
    EXPECT_EQ(device.get("/healthz").status, 200u) << device.error();
    EXPECT_EQ(device.get("/v1/organizations").status, 401u);
    auto login = device.post(
        "/v1/login", js({{"username", "admin"}, {"password", ServerProcess::kAdminPassword}}));
    ASSERT_EQ(login.status, 200u) << login.body << device.error();
    EXPECT_EQ(device.get("/v1/organizations", str(login.json().at("token"))).status, 200u);
  }
}

TEST_F(MutualTls, OptionalClientCertificateIsVerifiedWhenPresented) {
  start(false);
  TlsClient anonymous(server_.port, trusting(*pki_));
  EXPECT_EQ(anonymous.get("/healthz").status, 200u) << anonymous.error();
  TlsClient device(server_.port, with_cert(pki_->client_cert, pki_->client_key));
  EXPECT_EQ(device.get("/healthz").status, 200u) << device.error();
  TlsClient stranger(server_.port, with_cert(pki_->stranger_cert, pki_->stranger_key));
  EXPECT_EQ(stranger.get("/healthz").status, 0u);
  EXPECT_NE(stranger.error().find("unknown ca"), std::string::npos) << stranger.error();
}

// Bad certificate or key files stop the server at start, with a message naming the file.
TEST(TlsStartup, BadCertificateOrKeyFilesStopTheServer) {
  TempDir dir;
  TestPki pki = make_test_pki(dir.path() / "pki");
  auto garbage = dir.path() / "garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  struct Case {
    json::object tls;
    std::string mentions;
  };
  std::string missing = (dir.path() / "absent.pem").string();
  std::vector<Case> cases = {
      {{{"certFile", missing}, {"keyFile", pki.server_key.string()}}, missing},
      {{{"certFile", pki.server_cert.string()}, {"keyFile", missing}}, missing},
      {{{"certFile", garbage.string()}, {"keyFile", pki.server_key.string()}}, garbage.string()},
      {{{"certFile", pki.server_cert.string()}, {"keyFile", pki.client_key.string()}},
       "does not match"},
      {{{"certFile", pki.server_cert.string()},
        {"keyFile", pki.server_key.string()},
        {"clientCaFile", missing}},
       missing},
      {{{"certFile", pki.server_cert.string()},
        {"keyFile", pki.server_key.string()},
        {"clientCaFile", garbage.string()}},
       garbage.string()},
  };
  int n = 0;
  for (const Case& c : cases) {
    auto case_dir = dir.path() / ("case" + std::to_string(n++));
    std::filesystem::create_directories(case_dir);
    std::string config = write_config(case_dir, {{"tls", c.tls}});
    ServerProcess::Options o;
    o.args = {"--listen", "127.0.0.1:0", "--data-dir", (case_dir / "data").string(),
              "--config", config};
    ServerProcess p(std::move(o));
    auto code = p.wait_exit();
    ASSERT_TRUE(code.has_value()) << json::serialize(c.tls) << "\n" << p.output();
    EXPECT_NE(*code, 0) << p.output();
    std::string out = p.output();
    EXPECT_NE(out.find(c.mentions), std::string::npos) << json::serialize(c.tls) << "\n" << out;
    EXPECT_EQ(out.find("listening on"), std::string::npos) << out;
    EXPECT_EQ(out.find("PRIVATE KEY"), std::string::npos) << out;
    // Nothing was written: the check comes before the store is opened.
    EXPECT_FALSE(std::filesystem::exists(case_dir / "data")) << out;
  }
}

}  // namespace
}  // namespace oshin::testing

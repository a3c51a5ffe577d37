// End-to-end load generator (issue 8). Measures oshin-server from outside, over real sockets, in
// one process with one Asio thread (the server gets the rest of the machine).
//
// `--mode full` starts oshin-server on 127.0.0.1:0 with a temp data dir and runs, in order:
//   setup   organizations, nurses, doctors, drivers, teams on shift and patients, over the API;
//           every account logs in once (login is argon2id, slow by design).
//   e2e     open loop: POST /v1/visits at a constant arrival rate from many nurse connections.
//           Latency counts from the request's scheduled time (so a request that waits for a free
//           connection is charged for it) to its 201 and to its `offer` frame at the doctor's
//           WebSocket. Doctors accept every offer at once and walk the visit to COMPLETED
//           (depart, arrive, complete), so their team is free again for the next request.
//   commits closed loop of POST /v1/teams/{id}/location from every doctor and driver: durable
//           state changes per second (each a core event + team record + audit entry, answered
//           only after it is synced).
//   get     closed loop of authenticated GET /v1/visits/{id} (--get-conns clients; then again
//           with --get-conns-more clients when that is set).
//   ws      1,000 stream connections held; visits posted by a nurse whose event reaches 5
//           recipients (the nurse, two STAFF, the offered team's doctor and driver); per visit,
//           the spread between the first and the last recipient's frame.
//   fill    visits stored until 100,000 (out-of-area requests, each stored as a REJECTED
//           visit), then the server's RSS.
// `--server PATH` runs another oshin-server binary (to compare two builds in alternating runs;
// tests/bench/per_visit_cost.sh). `--mode get --port P --target /` runs only the GET loop against a
// running server (the bare Beast baseline). Writes one JSON object to --out (or stdout).

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http_client.hpp"
#include "server_process.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

double ms_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void log(const std::string& line) {
  std::cerr << "[loadgen] " << line << std::endl;
}

/// Latency samples in milliseconds.
class Samples {
 public:
  void add(double ms) { v_.push_back(ms); }
  std::size_t size() const { return v_.size(); }
  /// Nearest-rank percentile; -1 when empty.
  double pct(double p) {
    if (v_.empty()) {
      return -1;
    }
    std::sort(v_.begin(), v_.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v_.size())));
    return v_[std::clamp<std::size_t>(rank, 1, v_.size()) - 1];
  }

 private:
  std::vector<double> v_;
};

/// One keep-alive HTTP/1.1 connection driven asynchronously; one request in flight at a time.
class HttpConn {
 public:
  using Done = std::function<void(unsigned status, const std::string& body)>;

  // Connects at the first request, as a phone does: the server drops a fresh connection that
  // sends nothing within its header timeout, and a doctor may wait longer than that for a
  // first offer. A connection the server closed (idle timeout) is reopened the same way.
  HttpConn(asio::io_context& ioc, unsigned short port, std::string token)
      : port_(port), stream_(ioc), token_(std::move(token)) {}

  bool busy() const { return busy_; }
  bool broken() const { return broken_; }

  void send(http::verb method, const std::string& target, std::string body, Done done) {
    if (!connected_ || broken_) {
      beast::error_code ec;
      stream_.socket().close(ec);  // a broken one; never open when not yet connected
      buffer_.clear();
      stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
      if (ec) {
        broken_ = true;
        done(0, {});
        return;
      }
      stream_.socket().set_option(tcp::no_delay(true));
      connected_ = true;
      broken_ = false;
    }
    busy_ = true;
    req_ = {};
    req_.method(method);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, "127.0.0.1");
    if (!token_.empty()) {
      req_.set(http::field::authorization, "Bearer " + token_);
    }
    if (method == http::verb::post) {
      req_.set(http::field::content_type, "application/json");
      req_.body() = std::move(body);
    }
    req_.prepare_payload();
    done_ = std::move(done);
    http::async_write(stream_, req_, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        fail();
        return;
      }
      res_ = {};
      http::async_read(stream_, buffer_, res_, [this](beast::error_code ec2, std::size_t) {
        if (ec2) {
          fail();
          return;
        }
        busy_ = false;
        auto finished = std::move(done_);
        finished(res_.result_int(), res_.body());
      });
    });
  }

 private:
  void fail() {
    broken_ = true;
    busy_ = false;
    auto done = std::move(done_);
    static const std::string kEmpty;
    done(0, kEmpty);
  }

  unsigned short port_;
  beast::tcp_stream stream_;
  std::string token_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  Done done_;
  bool busy_ = false;
  bool broken_ = false;
  bool connected_ = false;
};

/// One /v1/stream WebSocket (JSON frames), read continuously; every frame goes to `on_frame`.
class WsConn {
 public:
  using OnFrame = std::function<void(const std::string& frame, TimePoint at)>;

  WsConn(asio::io_context& ioc, unsigned short port, const std::string& token) : ws_(ioc) {
    auto& sock = beast::get_lowest_layer(ws_);
    sock.expires_after(std::chrono::seconds(10));
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    sock.socket().set_option(tcp::no_delay(true));
    ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer " + token);
    }));
    ws_.handshake("127.0.0.1", "/v1/stream");
    sock.expires_never();
  }

  void start(OnFrame on_frame) {
    on_frame_ = std::move(on_frame);
    read();
  }
  bool closed() const { return closed_; }

 private:
  void read() {
    buffer_.clear();
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        closed_ = true;
        return;
      }
      auto at = Clock::now();
      if (on_frame_) {
        on_frame_(beast::buffers_to_string(buffer_.data()), at);
      }
      read();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  OnFrame on_frame_;
  bool closed_ = false;
};

/// Command-line flags: --name value.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) {
        throw std::invalid_argument("expected --flag value, got " + k);
      }
      m_[k.substr(2)] = argv[i + 1];
    }
  }
  std::string str(const std::string& k, const std::string& def) const {
    auto it = m_.find(k);
    return it == m_.end() ? def : it->second;
  }
  double num(const std::string& k, double def) const {
    auto it = m_.find(k);
    return it == m_.end() ? def : std::stod(it->second);
  }
  int integer(const std::string& k, int def) const { return static_cast<int>(num(k, def)); }

 private:
  std::map<std::string, std::string> m_;
};

/// Runs the io_context until `done()` or the deadline; false on deadline.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done, TimePoint deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) {
      return false;
    }
    ioc.run_one_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string iso(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  auto tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string str_at(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* cur = &v;
  for (const char* k : path) {
    if (!cur->is_object()) {
      return {};
    }
    const auto* next = cur->as_object().if_contains(k);
    if (next == nullptr) {
      return {};
    }
    cur = next;
  }
  return cur->is_string() ? std::string(cur->as_string()) : std::string();
}

long rss_kb(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

/// Closed loop over `conns`: each sends `make()` again as soon as its answer arrives, for
/// `seconds`. Returns answers with an expected status per second; fills `lat`.
struct LoopResult {
  double per_sec = 0;
  std::size_t ok = 0;
  std::size_t bad = 0;
};
LoopResult closed_loop(asio::io_context& ioc, std::vector<std::unique_ptr<HttpConn>>& conns,
                       double seconds, http::verb method,
                       const std::function<std::string(std::size_t)>& target,
                       const std::function<std::string(std::size_t)>& body, unsigned expect,
                       Samples& lat) {
  LoopResult r;
  const auto start = Clock::now();
  const auto until =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::size_t next = 0;
  std::size_t in_flight = 0;
  std::function<void(HttpConn&)> fire = [&](HttpConn& c) {
    if (Clock::now() >= until || c.broken()) {
      return;
    }
    auto i = next++;
    auto sent = Clock::now();
    ++in_flight;
    c.send(method, target(i), body(i), [&, sent, cp = &c](unsigned status, const std::string&) {
      --in_flight;
      auto now = Clock::now();
      if (status == expect) {
        ++r.ok;
        lat.add(ms_between(sent, now));
      } else {
        ++r.bad;
      }
      fire(*cp);
    });
  };
  for (auto& c : conns) {
    fire(*c);
  }
  if (!run_until(
          ioc, [&] { return in_flight == 0; }, until + std::chrono::seconds(30))) {
    throw std::runtime_error("closed loop: answers still missing 30 s after the end");
  }
  r.per_sec =
      static_cast<double>(r.ok) / std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

/// The server's own counters (GET /metrics): group commits and their wall time, dispatch
/// decisions and theirs, RESTART checkpoints (each holds new commits back while it runs).
struct ServerCounters {
  double commits = 0;
  double commit_seconds = 0;
  double decisions = 0;
  double decision_seconds = 0;
  double restarts = 0;
};

ServerCounters server_counters(unsigned short port) {
  ServerCounters c;
  auto r = oshin::testing::http_call(port, http::verb::get, "/metrics");
  std::istringstream in(r.body);
  std::string line;
  auto value = [&](const std::string& name, double& out) {
    if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) {
      out += std::stod(line.substr(line.rfind(' ') + 1));
    }
  };
  while (std::getline(in, line)) {
    value("oshin_store_commit_seconds_count", c.commits);
    value("oshin_store_commit_seconds_sum", c.commit_seconds);
    value("oshin_dispatch_decision_seconds_count", c.decisions);
    value("oshin_dispatch_decision_seconds_sum", c.decision_seconds);
    value("oshin_store_checkpoints_total{mode=\"restart\"}", c.restarts);
  }
  return c;
}

/// Adds `prefix`GroupCommits, `prefix`GroupCommitMeanMs, `prefix`DecisionMeanUs and
/// `prefix`RestartCheckpoints (RESTART checkpoints run, done or not) for the interval.
void add_counters(json::object& out, const std::string& prefix, const ServerCounters& a,
                  const ServerCounters& b) {
  double commits = b.commits - a.commits;
  double decisions = b.decisions - a.decisions;
  out[prefix + "GroupCommits"] = commits;
  out[prefix + "GroupCommitMeanMs"] =
      commits > 0 ? 1000.0 * (b.commit_seconds - a.commit_seconds) / commits : -1.0;
  out[prefix + "DecisionMeanUs"] =
      decisions > 0 ? 1e6 * (b.decision_seconds - a.decision_seconds) / decisions : -1.0;
  out[prefix + "RestartCheckpoints"] = b.restarts - a.restarts;
}

// --------------------------------------------------------------------------------------------

constexpr double kCenterLat = 35.6716;
constexpr double kCenterLon = 139.3950;

class Bench {
 public:
  explicit Bench(const Args& a) : args_(a) {}

  json::object run_full() {
    start_server();
    try {
      setup();
      e2e();
      commits();
      get();
      ws();
      fill();
    } catch (const std::exception& e) {
      // Partial results are still results: the runner shows what is missing.
      log(std::string("stopped: ") + e.what());
      out_["error"] = e.what();
    }
    out_["rssMb"] = static_cast<double>(rss_kb(server_.process->pid())) / 1024.0;
    out_["visitsStored"] = visits_stored_;
    server_.process->terminate();
    server_.process->wait_exit(std::chrono::seconds(60));
    return out_;
  }

  json::object run_get_only() {
    port_ = static_cast<unsigned short>(args_.integer("port", 0));
    std::string target = args_.str("target", "/");
    std::vector<std::unique_ptr<HttpConn>> conns;
    for (int i = 0; i < args_.integer("get-conns", 8); ++i) {
      conns.push_back(std::make_unique<HttpConn>(ioc_, port_, ""));
    }
    Samples lat;
    auto r = closed_loop(
        ioc_, conns, args_.num("get-seconds", 5), http::verb::get,
        [&](std::size_t) { return target; }, [](std::size_t) { return std::string(); }, 200, lat);
    return json::object{{"reqPerSec", r.per_sec},
                        {"p50Ms", lat.pct(50)},
                        {"p99Ms", lat.pct(99)},
                        {"errors", r.bad}};
  }

 private:
  // ---- set-up over the API (blocking calls) ---------------------------------------------------

  void start_server() {
    dir_ = std::make_unique<oshin::testing::TempDir>();
    json::object config{
        {"dataDir", (dir_->path() / "data").string()},
        {"serviceHours", {{"always", true}}},
        {"center", {{"name", "bench"}, {"location", {{"lat", kCenterLat}, {"lon", kCenterLon}}}}},
        // One load generator on one address stands for many clients on many addresses: the
        // per-address and per-account abuse limits are off so they do not cap the measurement.
        {"limits",
         {{"maxConnections", 5000},
          {"maxConnectionsPerAddress", 5000},
          {"requestsPerSecondPerAddress", 0},
          {"requestsPerSecondPerAccount", 0}}}};
    config["dispatchPolicy"] = args_.str("policy", "closest-idle");
    out_["dispatchPolicy"] = args_.str("policy", "closest-idle");
    if (args_.num("threads", 0) > 0) {
      config["threads"] = static_cast<std::int64_t>(args_.num("threads", 0));
    }
    if (args_.str("log-level", "").size() > 0) {
      config["logLevel"] = args_.str("log-level", "");
    }
    auto path = dir_->path() / "oshin.json";
    std::ofstream(path) << json::serialize(config);
    oshin::testing::ServerProcess::Options o;
    o.args = {"--config", path.string(), "--listen", "127.0.0.1:0"};
    o.binary = args_.str("server", "");
    server_.process = std::make_unique<oshin::testing::ServerProcess>(o);
    auto port = server_.process->wait_listening();
    if (!port) {
      throw std::runtime_error("server did not start:\n" + server_.process->output());
    }
    port_ = *port;
    log("server pid " + std::to_string(server_.process->pid()) + " on port " +
        std::to_string(port_));
  }

  json::value call(const std::string& who, http::verb m, const std::string& target,
                   const json::object& body, unsigned expect) {
    auto r = oshin::testing::http_call(
        port_, m, target, body.empty() ? std::string() : json::serialize(body), tokens_.at(who));
    if (r.status != expect) {
      throw std::runtime_error(target + " answered " + std::to_string(r.status) + ": " + r.body);
    }
    return r.json();
  }

  void make_org(const std::string& key, const std::string& kind) {
    auto v =
        call("admin", http::verb::post, "/v1/organizations", {{"name", key}, {"kind", kind}}, 201);
    orgs_[key] = str_at(v, {"id"});
  }

  void make_user(const std::string& name, const std::string& role, const std::string& org) {
    std::string pw = name + "-bench-password";
    auto v = call("admin", http::verb::post, "/v1/users",
                  {{"username", name},
                   {"password", pw},
                   {"displayName", name},
                   {"role", role},
                   {"organizationId", orgs_.at(org)}},
                  201);
    ids_[name] = str_at(v, {"id"});
    tokens_[name] = oshin::testing::login(port_, name, pw);
    if (tokens_[name].empty()) {
      throw std::runtime_error("login failed for " + name);
    }
  }

  std::string make_patient(const std::string& nurse, const std::string& org, double lat,
                           double lon) {
    auto v = call(nurse, http::verb::post, "/v1/patients",
                  {{"name", "Patient"},
                   {"birthDate", "1938-04-02"},
                   {"sex", "FEMALE"},
                   {"address", "Hino-shi 1-2-3"},
                   {"location", {{"lat", lat}, {"lon", lon}}},
                   {"primaryDoctorId", ids_.at("primary")},
                   {"careTeamOrganizationIds", json::array{orgs_.at(org)}},
                   {"sharingConsent", true},
                   {"allergies", "penicillin"},
                   {"advanceCarePlan", "stay home"},
                   {"eligibility", {{"lastScheduledVisitDate", "2026-11-01"}}}},
                  201);
    return str_at(v, {"id"});
  }

  static std::string visit_body(const std::string& patient) {
    return json::serialize(
        json::object{{"patientId", patient},
                     {"urgency", "URGENT"},
                     {"reason", "ACUTE_CHANGE"},
                     {"chiefComplaint", "fever 39C, short of breath"},
                     {"vitals", {{"temperatureC", 39.1}, {"spo2", 91}, {"pulse", 110}}},
                     {"lifeThreatening", false},
                     {"notes", "lives alone"}});
  }

  void setup() {
    auto t0 = Clock::now();
    tokens_["admin"] =
        oshin::testing::login(port_, "admin", oshin::testing::ServerProcess::kAdminPassword);
    auto orgs = call("admin", http::verb::get, "/v1/organizations", {}, 200);
    orgs_["center"] = str_at(orgs.at("organizations").as_array().at(0), {"id"});
    make_org("station", "VISITING_NURSE_STATION");
    make_org("wsstation", "VISITING_NURSE_STATION");
    make_org("idle", "VISITING_NURSE_STATION");
    make_org("clinic", "CLINIC");
    make_user("primary", "PRIMARY_DOCTOR", "clinic");
    make_user("staff1", "STAFF", "center");
    make_user("staff2", "STAFF", "center");
    make_user("wsnurse", "NURSE", "wsstation");
    nurses_ = args_.integer("nurses", 8);
    for (int i = 0; i < nurses_; ++i) {
      make_user("nurse" + std::to_string(i), "NURSE", "station");
    }
    for (int i = 0; i < 4; ++i) {
      make_user("idle" + std::to_string(i), "NURSE", "idle");
    }
    teams_ = args_.integer("teams", 64);
    auto now = std::chrono::system_clock::now();
    for (int i = 0; i < teams_; ++i) {
      auto n = std::to_string(i);
      make_user("doctor" + n, "DOCTOR", "center");
      make_user("driver" + n, "DRIVER", "center");
      double angle = 2 * 3.14159265358979 * i / teams_;
      auto v = call("staff1", http::verb::post, "/v1/teams",
                    {{"doctorId", ids_.at("doctor" + n)},
                     {"driverId", ids_.at("driver" + n)},
                     {"vehicle", "car " + n},
                     {"shiftStart", iso(now - std::chrono::hours(1))},
                     {"shiftEnd", iso(now + std::chrono::hours(12))},
                     {"base",
                      {{"lat", kCenterLat + 0.03 * std::sin(angle)},
                       {"lon", kCenterLon + 0.03 * std::cos(angle)}}},
                     {"skills", json::array{}}},
                    201);
      team_ids_.push_back(str_at(v, {"id"}));
    }
    for (int i = 0; i < args_.integer("patients", 64); ++i) {
      double angle = 2.4 * i;
      double r = 0.01 + 0.04 * (i % 7) / 7.0;
      patients_.push_back(make_patient("nurse0", "station", kCenterLat + r * std::sin(angle),
                                       kCenterLon + r * std::cos(angle)));
    }
    ws_patient_ = make_patient("wsnurse", "wsstation", kCenterLat + 0.01, kCenterLon + 0.01);
    far_patient_ = make_patient("nurse0", "station", kCenterLat + 0.5, kCenterLon);
    for (const auto& p : patients_) {
      bodies_.push_back(visit_body(p));
    }
    log("setup done in " + std::to_string(ms_between(t0, Clock::now()) / 1000) + " s");
  }

  // ---- the doctors: accept every offer and walk the visit to COMPLETED ------------------------

  struct Doctor {
    std::unique_ptr<HttpConn> http;
    std::unique_ptr<WsConn> ws;
    std::deque<std::pair<std::string, std::string>> offers;  // offer id, visit id
    bool working = false;
  };

  void connect_doctors() {
    for (int i = 0; i < teams_; ++i) {
      auto d = std::make_unique<Doctor>();
      auto token = tokens_.at("doctor" + std::to_string(i));
      d->http = std::make_unique<HttpConn>(ioc_, port_, token);
      d->ws = std::make_unique<WsConn>(ioc_, port_, token);
      Doctor* dp = d.get();
      int socket_id = next_socket_id_++;
      d->ws->start([this, dp, socket_id](const std::string& frame, TimePoint at) {
        on_doctor_frame(*dp, socket_id, frame, at);
      });
      doctors_.push_back(std::move(d));
    }
  }

  void on_doctor_frame(Doctor& d, int socket_id, const std::string& frame, TimePoint at) {
    if (frame.find("\"offer\"") == std::string::npos &&
        frame.find("\"visitUpdated\"") == std::string::npos) {
      return;
    }
    auto v = json::parse(frame);
    auto type = str_at(v, {"type"});
    if (type == "offer") {
      auto visit = str_at(v, {"offer", "visitId"});
      on_offer(visit, at);
      fanout_seen(socket_id, visit, at);
      d.offers.emplace_back(str_at(v, {"offer", "id"}), visit);
      work(d);
    } else if (type == "visitUpdated") {
      fanout_seen(socket_id, str_at(v, {"visitUpdated", "id"}), at);
    }
  }

  void work(Doctor& d) {
    if (d.working || d.offers.empty()) {
      return;
    }
    d.working = true;
    std::string offer = d.offers.front().first;
    std::string visit = d.offers.front().second;
    d.offers.pop_front();
    auto step = std::make_shared<std::function<void(int)>>();
    // The pending request's handler owns the chain; the chain only refers to itself weakly.
    *step = [this, &d, offer, visit, weak = std::weak_ptr(step)](int i) {
      static const char* kPaths[] = {"", "/depart", "/arrive", "/complete"};
      if (i == 4) {
        d.working = false;
        work(d);
        return;
      }
      auto self = weak.lock();
      std::string target =
          i == 0 ? "/v1/offers/" + offer + "/accept" : "/v1/visits/" + visit + kPaths[i];
      d.http->send(http::verb::post, target, "",
                   [this, &d, self, i, target](unsigned status, const std::string& body) {
                     if (status == 200) {
                       ++release_ok_;
                       (*self)(i + 1);
                     } else {
                       ++release_bad_;
                       if (release_first_error_.empty()) {
                         release_first_error_ =
                             target + " answered " + std::to_string(status) + ": " + body;
                       }
                       d.working = false;
                       work(d);
                     }
                   });
    };
    (*step)(0);
  }

  // ---- e2e: open loop ------------------------------------------------------------------------

  struct Req {
    TimePoint intended{};
    TimePoint response{};
    TimePoint offer{};
    unsigned status = 0;
    bool answered = false;
    bool offered = false;
  };

  void on_offer(const std::string& visit, TimePoint at) {
    auto it = req_of_visit_.find(visit);
    if (it == req_of_visit_.end()) {
      early_offers_.emplace(visit, at);
      return;
    }
    auto& r = reqs_[it->second];
    if (!r.offered) {
      r.offered = true;
      r.offer = at;
      ++offers_seen_;
    }
  }

  void e2e() {
    connect_doctors();
    const double rate = args_.num("rate", 500);
    const double seconds = args_.num("seconds", 20);
    const int conns_per_nurse = args_.integer("conns-per-nurse", 8);
    std::vector<std::unique_ptr<HttpConn>> conns;
    for (int n = 0; n < nurses_; ++n) {
      for (int c = 0; c < conns_per_nurse; ++c) {
        conns.push_back(
            std::make_unique<HttpConn>(ioc_, port_, tokens_.at("nurse" + std::to_string(n))));
      }
    }
    const auto total = static_cast<std::size_t>(rate * seconds);
    reqs_.assign(total, Req{});
    std::deque<std::size_t> backlog;
    std::vector<HttpConn*> idle;
    for (auto& c : conns) {
      idle.push_back(c.get());
    }
    std::size_t answered = 0;
    std::size_t created = 0;
    std::size_t max_backlog = 0;
    const auto start = Clock::now() + std::chrono::milliseconds(100);
    auto intended = [&](std::size_t i) {
      return start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(i) / rate));
    };
    std::function<void(HttpConn*, std::size_t)> send = [&](HttpConn* c, std::size_t i) {
      c->send(http::verb::post, "/v1/visits", bodies_[i % bodies_.size()],
              [&, c, i](unsigned status, const std::string& body) {
                auto now = Clock::now();
                auto& r = reqs_[i];
                r.answered = true;
                r.status = status;
                r.response = now;
                ++answered;
                if (status == 201) {
                  ++created;
                  auto id = str_at(json::parse(body), {"id"});
                  visit_ids_.push_back(id);
                  auto early = early_offers_.find(id);
                  if (early != early_offers_.end()) {
                    r.offered = true;
                    r.offer = early->second;
                    ++offers_seen_;
                    early_offers_.erase(early);
                  } else {
                    req_of_visit_.emplace(id, i);
                  }
                }
                if (c->broken()) {
                  return;
                }
                if (!backlog.empty()) {
                  auto next = backlog.front();
                  backlog.pop_front();
                  send(c, next);
                } else {
                  idle.push_back(c);
                }
              });
    };
    asio::steady_timer timer(ioc_);
    std::size_t next = 0;
    std::function<void()> tick = [&] {
      auto now = Clock::now();
      while (next < total && intended(next) <= now) {
        reqs_[next].intended = intended(next);
        if (!idle.empty()) {
          auto* c = idle.back();
          idle.pop_back();
          send(c, next);
        } else {
          backlog.push_back(next);
          max_backlog = std::max(max_backlog, backlog.size());
        }
        ++next;
      }
      if (next < total) {
        timer.expires_at(intended(next));
        timer.async_wait([&](beast::error_code ec) {
          if (!ec) {
            tick();
          }
        });
      }
    };
    log("e2e: " + std::to_string(total) + " visits at " + std::to_string(rate) + "/s");
    const std::size_t release_before = release_ok_;
    const auto counters_before = server_counters(port_);
    timer.expires_at(start);
    timer.async_wait([&](beast::error_code ec) {
      if (!ec) {
        tick();
      }
    });
    const bool all_answered = run_until(
        ioc_, [&] { return answered == total; },
        start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(seconds + 15)));
    const auto end_posts = Clock::now();
    const auto counters_after = server_counters(port_);
    // Drain before the next phase: every offer delivered and every team walked back to free, so
    // later phases measure a quiet server. The drain time says how far behind the server was.
    run_until(
        ioc_,
        [&] {
          return offers_seen_ >= created &&
                 std::all_of(doctors_.begin(), doctors_.end(),
                             [](const auto& d) { return !d->working && d->offers.empty(); });
        },
        end_posts + std::chrono::seconds(args_.integer("drain-seconds", 90)));
    out_["e2eDrainSeconds"] = std::chrono::duration<double>(Clock::now() - end_posts).count();
    Samples post;
    Samples offer;
    Samples push;
    for (const auto& r : reqs_) {
      if (r.answered && r.status == 201) {
        post.add(ms_between(r.intended, r.response));
        if (r.offered) {
          offer.add(ms_between(r.intended, r.offer));
          push.add(std::max(0.0, ms_between(r.response, r.offer)));
        }
      }
    }
    const double span = std::chrono::duration<double>(end_posts - start).count();
    visits_stored_ += created;
    out_["e2eTargetRate"] = rate;
    out_["e2eVisits"] = total;
    out_["e2eCreated"] = created;
    out_["e2eErrors"] = total - created;
    out_["e2eRate"] = static_cast<double>(created) / span;
    out_["e2eP50Ms"] = offer.pct(50);
    out_["e2eP99Ms"] = offer.pct(99);
    out_["e2eMaxMs"] = offer.pct(100);
    out_["postP50Ms"] = post.pct(50);
    out_["postP99Ms"] = post.pct(99);
    out_["offerPushP99Ms"] = push.pct(99);
    out_["offersMissing"] = created - offer.size();
    out_["e2eMaxBacklog"] = max_backlog;
    out_["e2eReleaseCalls"] = release_ok_ - release_before;
    out_["e2eReleaseErrors"] = release_bad_;
    if (!release_first_error_.empty()) {
      out_["e2eReleaseFirstError"] = release_first_error_;
    }
    out_["e2eDurableChangesPerSec"] =
        static_cast<double>(created + release_ok_ - release_before) / span;
    add_counters(out_, "e2e", counters_before, counters_after);
    out_["rssMbAfterE2e"] = static_cast<double>(rss_kb(server_.process->pid())) / 1024.0;
    if (!all_answered) {
      // The callbacks still pending refer to this frame: stop here (the io_context never runs
      // again) and report what was measured.
      throw std::runtime_error("e2e: " + std::to_string(total - answered) +
                               " requests unanswered 15 s after the last was due");
    }
    log("e2e done: offer p50 " + std::to_string(offer.pct(50)) + " ms, p99 " +
        std::to_string(offer.pct(99)) + " ms");
  }

  // ---- durable state changes per second -------------------------------------------------------

  void commits() {
    std::vector<std::unique_ptr<HttpConn>> conns;
    std::vector<std::string> teams;
    for (int i = 0; i < teams_; ++i) {
      for (const char* who : {"doctor", "driver"}) {
        conns.push_back(
            std::make_unique<HttpConn>(ioc_, port_, tokens_.at(who + std::to_string(i))));
        teams.push_back(team_ids_[static_cast<std::size_t>(i)]);
      }
    }
    // Each connection moves its own team (closed loop per connection).
    std::vector<std::string> targets;
    for (const auto& t : teams) {
      targets.push_back("/v1/teams/" + t + "/location");
    }
    Samples lat;
    std::size_t ok = 0;
    std::size_t bad = 0;
    std::size_t in_flight = 0;
    const double seconds = args_.num("commit-seconds", 5);
    const auto counters_before = server_counters(port_);
    const auto start = Clock::now();
    const auto until =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::size_t n = 0;
    std::function<void(std::size_t)> fire = [&](std::size_t k) {
      if (Clock::now() >= until || conns[k]->broken()) {
        return;
      }
      ++in_flight;
      ++n;
      double jitter = 0.001 * static_cast<double>(n % 10);
      auto body =
          json::serialize(json::object{{"lat", kCenterLat + jitter}, {"lon", kCenterLon - jitter}});
      auto sent = Clock::now();
      conns[k]->send(http::verb::post, targets[k], std::move(body),
                     [&, k, sent](unsigned status, const std::string&) {
                       --in_flight;
                       if (status == 204) {
                         ++ok;
                         lat.add(ms_between(sent, Clock::now()));
                       } else {
                         ++bad;
                       }
                       fire(k);
                     });
    };
    for (std::size_t k = 0; k < conns.size(); ++k) {
      fire(k);
    }
    if (!run_until(
            ioc_, [&] { return in_flight == 0; }, until + std::chrono::seconds(30))) {
      throw std::runtime_error("commits: answers still missing 30 s after the end");
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    add_counters(out_, "durable", counters_before, server_counters(port_));
    out_["durableCommitsPerSec"] = static_cast<double>(ok) / elapsed;
    out_["durableCommitConcurrency"] = conns.size();
    out_["durableCommitP99Ms"] = lat.pct(99);
    out_["durableCommitErrors"] = bad;
    log("commits: " + std::to_string(static_cast<double>(ok) / elapsed) + "/s");
  }

  // ---- authenticated GET ---------------------------------------------------------------------

  void get() {
    get_phase(args_.integer("get-conns", 8), "get");
    // The same loop with more clients at once (--get-conns-more, 0 = skip): reads share group
    // commits, so throughput grows with concurrency where the bare server's does not.
    if (const int more = args_.integer("get-conns-more", 0); more > 0) {
      get_phase(more, "getMore");
    }
  }

  void get_phase(int connections, const std::string& key) {
    std::vector<std::unique_ptr<HttpConn>> conns;
    for (int i = 0; i < connections; ++i) {
      conns.push_back(std::make_unique<HttpConn>(
          ioc_, port_, tokens_.at("nurse" + std::to_string(i % nurses_))));
    }
    Samples lat;
    const auto counters_before = server_counters(port_);
    auto r = closed_loop(
        ioc_, conns, args_.num("get-seconds", 5), http::verb::get,
        [&](std::size_t i) { return "/v1/visits/" + visit_ids_[i % visit_ids_.size()]; },
        [](std::size_t) { return std::string(); }, 200, lat);
    add_counters(out_, key, counters_before, server_counters(port_));
    out_[key + "ReqPerSec"] = r.per_sec;
    out_[key + "P50Ms"] = lat.pct(50);
    out_[key + "P99Ms"] = lat.pct(99);
    out_[key + "Errors"] = r.bad;
    out_[key + "Connections"] = conns.size();
    log(key + ": " + std::to_string(r.per_sec) + "/s over " + std::to_string(connections) +
        " connections");
  }

  // ---- 1,000 stream connections, fan-out to 5 recipients ------------------------------------

  struct Fan {
    TimePoint first{};
    TimePoint last{};
    int seen = 0;
  };

  void fanout_seen(int socket_id, const std::string& visit, TimePoint at) {
    if (!ws_phase_ || visit.empty()) {
      return;
    }
    if (!seen_[socket_id].insert(visit).second) {
      return;
    }
    auto& f = fans_[visit];
    if (f.seen == 0 || at < f.first) {
      f.first = at;
    }
    if (f.seen == 0 || at > f.last) {
      f.last = at;
    }
    ++f.seen;
  }

  void ws() {
    const int total = args_.integer("ws-connections", 1000);
    std::vector<std::unique_ptr<WsConn>> held;
    auto recipient = [&](const std::string& who) {
      auto c = std::make_unique<WsConn>(ioc_, port_, tokens_.at(who));
      int id = next_socket_id_++;
      c->start([this, id](const std::string& frame, TimePoint at) {
        auto v = json::parse(frame);
        auto type = str_at(v, {"type"});
        if (type == "offer") {
          fanout_seen(id, str_at(v, {"offer", "visitId"}), at);
        } else if (type == "visitUpdated") {
          fanout_seen(id, str_at(v, {"visitUpdated", "id"}), at);
        }
      });
      held.push_back(std::move(c));
    };
    recipient("wsnurse");
    recipient("staff1");
    recipient("staff2");
    for (int i = 0; i < teams_; ++i) {
      recipient("driver" + std::to_string(i));
    }
    int open = static_cast<int>(held.size() + doctors_.size());
    for (int i = 0; open < total; ++i, ++open) {
      auto c = std::make_unique<WsConn>(ioc_, port_, tokens_.at("idle" + std::to_string(i % 4)));
      c->start(nullptr);
      held.push_back(std::move(c));
    }
    auto closed = [&] {
      return static_cast<std::size_t>(
          std::count_if(held.begin(), held.end(), [](const auto& c) { return c->closed(); }));
    };
    log("ws: " + std::to_string(open) + " stream connections open");
    ws_phase_ = true;
    HttpConn nurse(ioc_, port_, tokens_.at("wsnurse"));
    const std::string body = visit_body(ws_patient_);
    const int visits = args_.integer("ws-visits", 300);
    const double gap_ms = args_.num("ws-gap-ms", 20);
    int done = 0;
    std::vector<std::pair<std::string, TimePoint>> sent;
    for (int i = 0; i < visits; ++i) {
      auto t = Clock::now();
      bool answered = false;
      nurse.send(http::verb::post, "/v1/visits", body,
                 [&, t](unsigned status, const std::string& b) {
                   answered = true;
                   if (status == 201) {
                     sent.emplace_back(str_at(json::parse(b), {"id"}), t);
                     ++done;
                   }
                 });
      if (!run_until(
              ioc_, [&] { return answered; }, Clock::now() + std::chrono::seconds(10))) {
        throw std::runtime_error("ws: a visit was not answered within 10 s");
      }
      run_until(
          ioc_, [] { return false; },
          t + std::chrono::microseconds(static_cast<long>(gap_ms * 1000)));
    }
    run_until(
        ioc_,
        [&] {
          return std::all_of(sent.begin(), sent.end(),
                             [&](const auto& s) { return fans_[s.first].seen >= 5; });
        },
        Clock::now() + std::chrono::seconds(10));
    Samples spread;
    Samples whole;
    std::size_t complete = 0;
    for (const auto& [visit, t] : sent) {
      const auto& f = fans_[visit];
      if (f.seen >= 5) {
        ++complete;
        spread.add(ms_between(f.first, f.last));
        whole.add(ms_between(t, f.last));
      }
    }
    ws_phase_ = false;
    visits_stored_ += static_cast<std::size_t>(done);
    out_["wsConnections"] = static_cast<std::size_t>(open) - closed();
    out_["wsFanoutP99Ms"] = spread.pct(99);
    out_["wsFanoutP50Ms"] = spread.pct(50);
    out_["wsPostToLastRecipientP99Ms"] = whole.pct(99);
    out_["wsFanoutEvents"] = complete;
    out_["wsFanoutIncomplete"] = sent.size() - complete;
    log("ws: fan-out p99 " + std::to_string(spread.pct(99)) + " ms over " +
        std::to_string(complete) + " events");
    ws_held_ = std::move(held);
  }

  // ---- memory after 100,000 visits ------------------------------------------------------------

  void fill() {
    const auto target = static_cast<std::size_t>(args_.num("fill-visits", 100000));
    if (visits_stored_ >= target) {
      return;
    }
    std::vector<std::unique_ptr<HttpConn>> conns;
    for (int i = 0; i < args_.integer("fill-conns", 32); ++i) {
      conns.push_back(std::make_unique<HttpConn>(
          ioc_, port_, tokens_.at("nurse" + std::to_string(i % nurses_))));
    }
    const std::string body = visit_body(far_patient_);
    std::size_t stored = visits_stored_;
    std::size_t in_flight = 0;
    std::size_t bad = 0;
    const auto start = Clock::now();
    std::function<void(HttpConn&)> fire = [&](HttpConn& c) {
      if (stored + in_flight >= target || c.broken()) {
        return;
      }
      ++in_flight;
      c.send(http::verb::post, "/v1/visits", body,
             [&, cp = &c](unsigned status, const std::string&) {
               --in_flight;
               if (status == 422) {
                 ++stored;
               } else {
                 ++bad;
               }
               fire(*cp);
             });
    };
    for (auto& c : conns) {
      fire(*c);
    }
    log("fill: storing " + std::to_string(target - visits_stored_) + " more visits");
    if (!run_until(
            ioc_, [&] { return in_flight == 0; }, Clock::now() + std::chrono::seconds(600))) {
      throw std::runtime_error("fill: not done within 600 s");
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    out_["fillVisitsPerSec"] = static_cast<double>(stored - visits_stored_) / elapsed;
    out_["fillErrors"] = bad;
    visits_stored_ = stored;
  }

  const Args& args_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{ioc_.get_executor()};
  std::unique_ptr<oshin::testing::TempDir> dir_;
  oshin::testing::RunningServer server_;
  unsigned short port_ = 0;
  json::object out_;

  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::string> ids_;
  std::map<std::string, std::string> orgs_;
  std::vector<std::string> team_ids_;
  std::vector<std::string> patients_;
  std::vector<std::string> bodies_;
  std::string ws_patient_;
  std::string far_patient_;
  int nurses_ = 0;
  int teams_ = 0;

  std::vector<std::unique_ptr<Doctor>> doctors_;
  std::size_t release_ok_ = 0;
  std::size_t release_bad_ = 0;
  std::string release_first_error_;  ///< what the first failed doctor call answered

  std::vector<Req> reqs_;
  std::unordered_map<std::string, std::size_t> req_of_visit_;
  std::unordered_map<std::string, TimePoint> early_offers_;
  std::size_t offers_seen_ = 0;
  std::vector<std::string> visit_ids_;
  std::size_t visits_stored_ = 0;

  int next_socket_id_ = 0;
  bool ws_phase_ = false;
  std::unordered_map<int, std::unordered_set<std::string>> seen_;
  std::unordered_map<std::string, Fan> fans_;
  std::vector<std::unique_ptr<WsConn>> ws_held_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    Args args(argc, argv);
    Bench bench(args);
    auto mode = args.str("mode", "full");
    json::object out = mode == "get" ? bench.run_get_only() : bench.run_full();
    auto text = json::serialize(out);
    auto path = args.str("out", "");
    if (path.empty()) {
      std::cout << text << std::endl;
    } else {
      std::ofstream(path) << text << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "oshin_loadgen: " << e.what() << std::endl;
    return 1;
  }
}

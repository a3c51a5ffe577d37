#include "oshin/app/server_main.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include "oshin/app/account_service.hpp"
#include "oshin/app/demo.hpp"
#include "oshin/app/idempotency.hpp"
#include "oshin/app/patient_service.hpp"
#include "oshin/app/report_service.hpp"
#include "oshin/app/retention.hpp"
#include "oshin/app/routes.hpp"
#include "oshin/app/token.hpp"
#include "oshin/app/visit_service.hpp"
#include "oshin/app/web_assets.hpp"
#include "oshin/billing/fee_table.hpp"
#include "oshin/common/metrics.hpp"
#include "oshin/delivery/webhook_outbox.hpp"
#include "oshin/http/config.hpp"
#include "oshin/http/health.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/http/tls.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/stream/stream_hub.hpp"
#include "oshin/stream/stream_server.hpp"
#include "oshin/stream/ticket_service.hpp"

namespace oshin::app {
namespace {

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

// How client certificates are treated, for the start-up line.
const char* tls_note(const v1::ServerConfig::Tls& tls) {
  if (tls.client_ca_file().empty()) {
    return "";
  }
  return tls.require_client_cert() ? ", client certificate required"
                                   : ", client certificate optional";
}

AccountOptions account_options(const v1::ServerConfig& config) {
  AccountOptions o;
  if (config.sessions().has_idle_timeout_seconds()) {
    o.idle_timeout = std::chrono::seconds(config.sessions().idle_timeout_seconds());
  }
  if (config.sessions().has_absolute_timeout_seconds()) {
    o.absolute_timeout = std::chrono::seconds(config.sessions().absolute_timeout_seconds());
  }
  o.totp_enabled = config.totp().enabled();
  if (config.totp().required_roles_size() > 0) {
    o.totp_required_roles = RoleSet{};
    for (int role : config.totp().required_roles()) {
      o.totp_required_roles.bits |= role_bit(static_cast<Role>(role));
    }
  }
  if (!config.center().name().empty()) {
    o.totp_issuer = config.center().name();
  }
  return o;
}

RetentionOptions retention_options(const v1::ServerConfig& config) {
  RetentionOptions o;
  const auto& keep = config.retention();
  if (keep.has_idempotency_hours()) {
    o.idempotency = std::chrono::hours(keep.idempotency_hours());
  }
  if (keep.has_delivered_webhook_days()) {
    o.delivered_webhooks = std::chrono::hours(24 * keep.delivered_webhook_days());
  }
  if (keep.has_sweep_interval_minutes()) {
    o.interval = std::chrono::minutes(keep.sweep_interval_minutes());
  }
  return o;
}

/// Creates the first admin on an empty store; false (with a message) when it cannot.
bool bootstrap(AccountService& accounts, const v1::ServerConfig& config, bool demo,
               std::ostream& out, std::ostream& err) {
  if (!accounts.empty()) {
    return true;
  }
  const char* env = std::getenv("OSHIN_ADMIN_PASSWORD");
  std::string password = env != nullptr ? env : "";
  bool generated = false;
  if (password.empty()) {
    if (!demo) {
      err << "oshin-server: the data dir is empty and OSHIN_ADMIN_PASSWORD is not set.\n"
             "Set OSHIN_ADMIN_PASSWORD (at least 12 characters) to create the first admin "
             "account, or start with --demo.\n";
      return false;
    }
    password = generate_token().substr(0, 20);
    generated = true;
  }
  std::promise<Outcome<v1::User>> promise;
  auto future = promise.get_future();
  accounts.bootstrap_admin(config.center().name(), password,
                           [&promise](Outcome<v1::User> r) { promise.set_value(std::move(r)); });
  auto admin = future.get();
  if (!admin) {
    err << "oshin-server: cannot create the admin account: " << admin.error().message << "\n";
    return false;
  }
  if (generated) {
    out << "created account admin with password " << password
        << " (set OSHIN_ADMIN_PASSWORD to choose it)\n";
  } else {
    out << "created account admin with the password from OSHIN_ADMIN_PASSWORD\n";
  }
  return true;
}

/// Log lines to stdout through stdio's buffer. spdlog's stdout sink flushes after every line:
/// with an access-log line per request that was one write(2) per request under a process-wide
/// lock, a sixth of the I/O threads' time under load. Lines now leave within a second
/// (flush_every), at once from warn up (flush_on), on a clean stop, and at exit.
class BufferedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), stdout);
  }
  void flush_() override { std::fflush(stdout); }
};

void setup_logging(const v1::ServerConfig& config) {
  auto logger = std::make_shared<spdlog::logger>("oshin", std::make_shared<BufferedStdoutSink>());
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  auto level = spdlog::level::from_str(config.has_log_level() ? config.log_level() : "info");
  spdlog::set_level(level == spdlog::level::off && config.log_level() != "off" ? spdlog::level::info
                                                                               : level);
  spdlog::flush_every(std::chrono::seconds(1));
  spdlog::flush_on(spdlog::level::warn);
}

// SIGTERM and SIGINT start the drain through Asio's signal_set, whose handler only wakes the
// io_context. They are blocked in the thread that starts the server, so in every helper thread
// it starts (store writer, completion, checkpointer, log flusher, work pool), and unblocked only
// in the threads that run the io_context: the signal then always lands on a thread that is in
// epoll_wait or running handlers, never on a helper that is blocked in a long system call
// (where a sanitizer runtime that defers signal handlers would hold it), and a signal that
// comes during start-up waits, pending, until the handler is installed.
void set_stop_signals_blocked(bool blocked) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &stop_signals, nullptr);
}

}  // namespace

int run_server(const v1::ServerConfig& config, bool demo, std::ostream& out, std::ostream& err,
               std::optional<SystemTime> clock_start) {
  set_stop_signals_blocked(true);
  setup_logging(config);
  if (!init_crypto()) {
    err << "oshin-server: libsodium failed to initialise\n";
    return 1;
  }
  auto endpoint = http::parse_listen(config.listen());
  if (!endpoint) {
    err << "oshin-server: bad listen address '" << config.listen() << "'\n";
    return 2;
  }

  // Certificates and keys are read once, here: a bad file stops the start before anything else.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  if (!config.tls().cert_file().empty()) {
    std::string tls_error;
    auto made = http::make_tls_context(config.tls(), &tls_error);
    if (!made) {
      err << "oshin-server: " << tls_error << "\n";
      return 2;
    }
    tls_context = std::move(*made);
  }

  if (const auto& tables = billing::FeeTables::builtin(); !tables) {
    err << "oshin-server: the built-in fee tables are invalid: " << tables.error().message << "\n";
    return 1;
  }

  MetricsRegistry registry;
  ServerMetrics metrics(registry);
  SystemClock system_clock;
  std::optional<OffsetClock> offset_clock;
  if (clock_start) {
    offset_clock.emplace(*clock_start);
    spdlog::warn("--clock-start: the clock runs from {} ms since the epoch (tests and demo only)",
                 to_unix_ms(*clock_start));
  }
  const Clock& clock = offset_clock ? static_cast<const Clock&>(*offset_clock) : system_clock;

  storage::SqliteOptions store_options;
  store_options.data_dir = config.data_dir();
  store_options.observer.on_commit = [&metrics](std::chrono::nanoseconds d, std::size_t) {
    metrics.store_commit_seconds.observe({}, std::chrono::duration<double>(d).count());
  };
  store_options.observer.on_checkpoint = [&metrics](bool restart) {
    metrics.store_checkpoints_total.inc({restart ? "restart" : "passive"});
  };
  auto opened = storage::open_sqlite_store(store_options);
  if (!opened) {
    err << "oshin-server: cannot open the store in '" << config.data_dir()
        << "': " << opened.error().message() << "\n";
    return 1;
  }
  std::unique_ptr<storage::Store> store = std::move(*opened);

  const int threads = config.threads() > 0 ? config.threads() : 2;
  boost::asio::io_context ioc(threads);
  // Password hashing and long reads run here, never on the I/O threads or the store's writer.
  boost::asio::thread_pool work(2);

  AccountService accounts(*store, clock, work.get_executor(), account_options(config));
  if (auto loaded = accounts.load(); !loaded) {
    err << "oshin-server: cannot load accounts: " << loaded.error().message() << "\n";
    return 1;
  }
  if (!bootstrap(accounts, config, demo, out, err)) {
    store->close();
    return 1;
  }
  if (demo) {
    if (auto seeded = seed_demo(accounts, *store, clock, config); !seeded) {
      err << "oshin-server: cannot seed the demo: " << seeded.error().message() << "\n";
      store->close();
      return 1;
    }
  }

  PatientService patients(*store, clock, accounts);
  if (auto loaded = patients.load(); !loaded) {
    err << "oshin-server: cannot load patients: " << loaded.error().message() << "\n";
    return 1;
  }
  stream::StreamHub hub;
  accounts.set_on_disabled([&hub](const std::string& user_id) { hub.revoke(user_id); });
  stream::TicketService tickets(*store, clock);
  if (auto loaded = tickets.load(); !loaded) {
    err << "oshin-server: cannot load stream tickets: " << loaded.error().message() << "\n";
    return 1;
  }
  delivery::WebhookOutbox::Options webhook_options;
  if (config.webhooks().has_initial_backoff_seconds()) {
    webhook_options.initial_backoff =
        std::chrono::seconds(config.webhooks().initial_backoff_seconds());
  }
  if (config.webhooks().has_max_backoff_seconds()) {
    webhook_options.max_backoff = std::chrono::seconds(config.webhooks().max_backoff_seconds());
  }
  if (config.webhooks().has_timeout_seconds()) {
    webhook_options.request_timeout = std::chrono::seconds(config.webhooks().timeout_seconds());
  }
  webhook_options.allow_private_addresses = config.webhooks().allow_private_addresses();
  VisitService* visits_ptr = nullptr;
  webhook_options.on_delivered = [&visits_ptr](const std::string& id) {
    if (visits_ptr != nullptr) {
      visits_ptr->on_webhook_delivered(id);
    }
  };
  delivery::WebhookOutbox webhooks(ioc, *store, clock, webhook_options);
  VisitService visits(ioc, *store, clock, accounts, patients, hub, &webhooks, metrics, config);
  visits_ptr = &visits;
  patients.set_team_reach([&visits](const Principal& who, const std::string& id) {
    return visits.team_reach(who, id);
  });
  if (auto loaded = visits.load(); !loaded) {
    err << "oshin-server: cannot load visits: " << loaded.error().message() << "\n";
    store->close();
    return 1;
  }
  if (auto resumed = webhooks.resume(); !resumed) {
    err << "oshin-server: cannot resume webhook deliveries: " << resumed.error().message() << "\n";
    store->close();
    return 1;
  }
  visits.start();

  // Expired idempotency keys, delivered webhook copies and expired sessions: swept on the work
  // pool right away (not holding up the start), then every interval.
  RetentionSweeper retention(*store, clock, ioc.get_executor(), work.get_executor(),
                             retention_options(config));
  retention.start();

  Idempotency idempotency(*store, clock);
  http::Router router(&accounts);
  const auto& limits = config.limits();
  http::RateLimiter address_limiter(
      {limits.requests_per_second_per_address(), limits.burst_per_address()}, clock);
  http::RateLimiter account_limiter(
      {limits.requests_per_second_per_account(), limits.burst_per_account()}, clock);
  router.set_rate_limits(&address_limiter, &account_limiter);
  http::add_health_routes(
      router, [&store] { return store->writable(); }, registry);
  add_account_routes(router, accounts, idempotency);
  add_audit_routes(router, *store, clock, work.get_executor());
  add_domain_routes(router, patients, visits, idempotency, clock);
  ReportService reports(*store, clock, visits, patients, accounts, work.get_executor(), config);
  add_report_routes(router, reports, clock);
  stream::add_stream_routes(router, tickets);
  add_web_routes(router, config);

  http::HttpServer server(ioc, router, metrics, http::http_options(config), &clock);
  stream::StreamOptions stream_options;
  if (config.limits().has_stream_queue_events()) {
    stream_options.max_queued_events =
        static_cast<std::size_t>(config.limits().stream_queue_events());
  }
  if (config.limits().has_stream_send_buffer_bytes()) {
    stream_options.socket_send_buffer =
        static_cast<std::size_t>(config.limits().stream_send_buffer_bytes());
  }
  stream::StreamServer streams(hub, *store, accounts, tickets, metrics, work.get_executor(),
                               stream_options);
  server.set_upgrade_handler(streams.upgrade_handler());
  if (tls_context) {
    server.set_tls_context(tls_context);
  }
  auto bound = server.listen(*endpoint);
  if (!bound) {
    err << "oshin-server: cannot listen on " << config.listen() << ": " << bound.error().message()
        << "\n";
    store->close();
    return 1;
  }
  server.start();

  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) {
      return;
    }
    spdlog::info("signal {} received: draining", signo);
    visits.stop();
    webhooks.stop();
    retention.stop();
    streams.shutdown();
    server.shutdown([&] {
      // Every in-flight request has been answered; now sync and stop.
      store->close();
      spdlog::info("stopped");
      spdlog::default_logger()->flush();
      ioc.stop();
    });
  });

  const std::string where = endpoint_text(*bound);
  const char* scheme = tls_context ? "https" : "http";
  if (tls_context) {
    // The plain line stays `listening on HOST:PORT`: tools parse the port from it.
    spdlog::info("listening on {} (https://{}/, TLS 1.2/1.3{})", where, where,
                 tls_note(config.tls()));
  } else {
    spdlog::info("listening on {}", where);
  }
  spdlog::default_logger()->flush();
  if (demo) {
    out << "oshin demo is running at " << scheme << "://" << where << "/\n";
    out << "demo logins (username / password / role):\n";
    for (const auto& login : demo_logins()) {
      out << "  " << login.username << " / " << login.password << " / " << login.role << "\n";
    }
    out.flush();
  }

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) {
    pool.emplace_back([&ioc] {
      set_stop_signals_blocked(false);
      ioc.run();
    });
  }
  set_stop_signals_blocked(false);
  ioc.run();
  for (auto& t : pool) {
    t.join();
  }
  work.join();
  store->close();
  return 0;
}

}  // namespace oshin::app

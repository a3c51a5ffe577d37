#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oshin {

/// A counter family with labels (e.g. oshin_http_requests_total{route,code}). Thread-safe.
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  /// Adds `v` to the series with these label values (same order as the label names).
  void inc(const std::vector<std::string>& label_values, double v = 1.0);
  double value(const std::vector<std::string>& label_values) const;
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, double> series_;
};

/// A histogram family with fixed upper bounds (seconds). Thread-safe.
class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  void observe(const std::vector<std::string>& label_values, double v);
  std::uint64_t count(const std::vector<std::string>& label_values) const;
  void render(std::string& out) const;

 private:
  struct Series {
    std::vector<std::uint64_t> buckets;
    double sum = 0;
    std::uint64_t count = 0;
  };
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, Series> series_;
};

/// A gauge without labels. Thread-safe, lock-free.
class Gauge {
 public:
  Gauge(std::string name, std::string help);
  void add(std::int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::atomic<std::int64_t> value_{0};
};

/// Default latency buckets in seconds (50 us .. 10 s).
std::vector<double> default_latency_buckets();

/// All metric families of one server, rendered as Prometheus text (version 0.0.4).
/// Families are created at start-up; the references stay valid for the registry's life.
class MetricsRegistry {
 public:
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels);
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> labels,
                             std::vector<double> bounds = default_latency_buckets());
  Gauge& gauge(std::string name, std::string help);
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  std::vector<std::unique_ptr<Gauge>> gauges_;
};

/// The series API.md names, created once per server.
struct ServerMetrics {
  explicit ServerMetrics(MetricsRegistry& registry);
  CounterFamily& http_requests_total;          ///< {route,code}
  HistogramFamily& http_request_duration;      ///< {route}
  CounterFamily& visits_total;                 ///< {status}
  HistogramFamily& dispatch_decision_seconds;  ///< no labels
  Gauge& ws_connections;
  HistogramFamily& store_commit_seconds;   ///< no labels
  CounterFamily& store_checkpoints_total;  ///< {mode}: passive, restart
};

}  // namespace oshin

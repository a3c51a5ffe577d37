#include "oshin/common/metrics.hpp"

#include <array>
#include <charconv>

namespace oshin {
namespace {

void append_escaped(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const char* extra_name = nullptr,
                   const std::string& extra_value = {}) {
  if (names.empty() && extra_name == nullptr) {
    return;
  }
  out.push_back('{');
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i]);
    out.push_back('"');
  }
  if (extra_name != nullptr) {
    if (!first) {
      out.push_back(',');
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

std::string format_number(double v) {
  // Shortest text that reads back as the same double ("0.0005", not "0.00050000000000000001").
  std::array<char, 512> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  if (ec != std::errc()) {
    return "NaN";
  }
  return std::string(buf.data(), end);
}

void append_header(std::string& out, const std::string& name, const std::string& help,
                   const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterFamily::inc(const std::vector<std::string>& label_values, double v) {
  std::lock_guard lock(mutex_);
  series_[label_values] += v;
}

double CounterFamily::value(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mutex_);
  auto it = series_.find(label_values);
  return it == series_.end() ? 0.0 : it->second;
}

void CounterFamily::render(std::string& out) const {
  append_header(out, name_, help_, "counter");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, v] : series_) {
    out += name_;
    append_labels(out, label_names_, labels);
    out += " " + format_number(v) + "\n";
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

void HistogramFamily::observe(const std::vector<std::string>& label_values, double v) {
  std::lock_guard lock(mutex_);
  auto& s = series_[label_values];
  if (s.buckets.empty()) {
    s.buckets.assign(bounds_.size(), 0);
  }
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      ++s.buckets[i];
    }
  }
  s.sum += v;
  ++s.count;
}

std::uint64_t HistogramFamily::count(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mutex_);
  auto it = series_.find(label_values);
  return it == series_.end() ? 0 : it->second.count;
}

void HistogramFamily::render(std::string& out) const {
  append_header(out, name_, help_, "histogram");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, s] : series_) {
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      out += name_ + "_bucket";
      append_labels(out, label_names_, labels, "le", format_number(bounds_[i]));
      out += " " + std::to_string(s.buckets[i]) + "\n";
    }
    out += name_ + "_bucket";
    append_labels(out, label_names_, labels, "le", "+Inf");
    out += " " + std::to_string(s.count) + "\n";
    out += name_ + "_sum";
    append_labels(out, label_names_, labels);
    out += " " + format_number(s.sum) + "\n";
    out += name_ + "_count";
    append_labels(out, label_names_, labels);
    out += " " + std::to_string(s.count) + "\n";
  }
}

Gauge::Gauge(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}

void Gauge::render(std::string& out) const {
  append_header(out, name_, help_, "gauge");
  out += name_ + " " + std::to_string(value()) + "\n";
}

std::vector<double> default_latency_buckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0};
}

CounterFamily& MetricsRegistry::counter(std::string name, std::string help,
                                        std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  counters_.push_back(
      std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(labels)));
  return *counters_.back();
}

HistogramFamily& MetricsRegistry::histogram(std::string name, std::string help,
                                            std::vector<std::string> labels,
                                            std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  histograms_.push_back(std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                          std::move(labels), std::move(bounds)));
  return *histograms_.back();
}

Gauge& MetricsRegistry::gauge(std::string name, std::string help) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(std::make_unique<Gauge>(std::move(name), std::move(help)));
  return *gauges_.back();
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& c : counters_) {
    c->render(out);
  }
  for (const auto& h : histograms_) {
    h->render(out);
  }
  for (const auto& g : gauges_) {
    g->render(out);
  }
  return out;
}

ServerMetrics::ServerMetrics(MetricsRegistry& registry)
    : http_requests_total(registry.counter("oshin_http_requests_total",
                                           "HTTP requests by route pattern and status code",
                                           {"route", "code"})),
      http_request_duration(registry.histogram("oshin_http_request_duration_seconds",
                                               "HTTP request duration in seconds", {"route"})),
      visits_total(registry.counter("oshin_visits_total", "Visits by status reached", {"status"})),
      dispatch_decision_seconds(registry.histogram("oshin_dispatch_decision_seconds",
                                                   "Wall time of one dispatch decision", {})),
      ws_connections(registry.gauge("oshin_ws_connections", "Open stream connections")),
      store_commit_seconds(registry.histogram("oshin_store_commit_seconds",
                                              "Wall time of one durable group commit", {})),
      store_checkpoints_total(registry.counter("oshin_store_checkpoints_total",
                                               "WAL checkpoints by mode (passive, restart)",
                                               {"mode"})) {}

}  // namespace oshin

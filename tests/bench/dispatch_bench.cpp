// Decision latency of the scheduling core (issue 3 targets: p99 <= 100 us at 50 teams / 20 open
// requests, <= 250 us at 200 / 50, <= 2 ms at 1,000 / 200), and a series growing the open
// requests at a fixed team count to show time and memory growing no worse than linearly.
//
// Every benchmark builds a steady state: all teams on site at a visit, `open` requests waiting.
// One iteration is one cycle of real events, each a timed decision: a team completes (the policy
// re-plans and usually offers it a waiting visit), the team accepts, departs, arrives, and a new
// request comes in. Counters report percentiles over every apply() of the run.

#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <new>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "oshin/dispatcher/dispatcher.hpp"

// ---- live heap bytes (for the memory series) ------------------------------------------------
namespace {
std::atomic<std::int64_t> g_live_bytes{0};
constexpr std::size_t kHeader = alignof(std::max_align_t);
}  // namespace

// The replaced global new/delete pair below is consistent; g++ 12 at -O2 cannot see that once
// they are inlined and reports a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  void* p = std::malloc(size + kHeader);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  *static_cast<std::size_t*>(p) = size;
  g_live_bytes.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
  return static_cast<char*>(p) + kHeader;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) {
    return;
  }
  void* base = static_cast<char*>(p) - kHeader;
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(*static_cast<std::size_t*>(base)),
                         std::memory_order_relaxed);
  std::free(base);
}
void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}

namespace {

namespace d = oshin::dispatcher;
using Clock = std::chrono::steady_clock;

// CPU time of this thread: on a shared, loaded machine wall time mostly measures preemption.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

d::LatLon around(std::mt19937_64& rng, double radius_km) {
  const double u = static_cast<double>(rng() >> 11U) * 0x1.0p-53;
  const double a = static_cast<double>(rng() >> 11U) * 0x1.0p-53 * 2.0 * std::numbers::pi;
  const double r = radius_km * std::sqrt(u);
  return d::LatLon{
      35.6716 + r * std::cos(a) / 111.195,
      139.3950 + r * std::sin(a) / (111.195 * std::cos(35.6716 * std::numbers::pi / 180.0))};
}

class SteadyState {
 public:
  SteadyState(d::PolicyKind kind, int teams, int open)
      : dispatcher_(d::DispatcherConfig{}, std::make_shared<d::HaversineTravelModel>(),
                    d::make_policy(kind)),
        rng_(42),
        // A visit cycle (drive + on site) takes ~45 min and each produces ~5 events, so with
        // `teams` teams events come every 45 min / (5 teams) on average.
        step_(std::chrono::milliseconds(45 * 60 * 1000 / (5 * teams))) {
    now_ = d::TimePoint(std::chrono::hours(24 * 20000));
    for (int t = 1; t <= teams; ++t) {
      d::TeamSpec spec;
      spec.id = d::TeamId(static_cast<std::uint64_t>(t));
      spec.base = around(rng_, 11.0);
      spec.shift_start = now_;
      spec.shift_end = now_ + std::chrono::hours(48);
      if (t % 4 == 0) {
        spec.skills = spec.skills.with(d::Skill::kPediatric);
      }
      bases_.push_back(spec.base);
      (void)apply(d::TeamUpserted{spec}, false);
    }
    // Occupy every team with a visit at its own base.
    for (int t = 0; t < teams; ++t) {
      (void)request(bases_[static_cast<std::size_t>(t)], false);
    }
    for (int i = 0; i < open; ++i) {
      (void)request(around(rng_, 11.0), false);
    }
  }

  // One cycle of events; returns false when no team was on site to complete.
  void cycle() {
    if (on_site_.empty()) {
      (void)request(around(rng_, 11.0), true);
      return;
    }
    // The team on site longest finishes first.
    const d::VisitId visit = on_site_.front();
    on_site_.pop_front();
    (void)apply(d::VisitCompleted{visit}, true);
    (void)request(around(rng_, 11.0), true);
  }

  std::vector<double>& latencies_us() { return latencies_us_; }
  std::vector<double>& cpu_us() { return cpu_us_; }
  std::size_t open() const { return dispatcher_.open_visits(); }

 private:
  d::Outcome request(d::LatLon where, bool timed) {
    d::VisitRequest r;
    r.id = d::VisitId(next_visit_++);
    r.requested_at = now_;
    r.location = where;
    r.urgency = next_visit_ % 3 == 0 ? d::Urgency::kSoon : d::Urgency::kUrgent;
    if (next_visit_ % 17 == 0) {
      r.needed_skills = r.needed_skills.with(d::Skill::kPediatric);
    }
    return apply(d::VisitRequested{r}, timed);
  }

  d::Outcome apply(const d::Event& e, bool timed) {
    now_ += step_;
    const auto begin = Clock::now();
    const double cpu_begin = thread_cpu_us();
    d::Outcome out = dispatcher_.apply(e, now_);
    const double cpu_end = thread_cpu_us();
    const auto end = Clock::now();
    if (timed) {
      latencies_us_.push_back(std::chrono::duration<double, std::micro>(end - begin).count());
      cpu_us_.push_back(cpu_end - cpu_begin);
    }
    // Every offer is accepted at once and the team drives straight there.
    for (const d::Decision& dec : out.decisions) {
      if (const auto* o = std::get_if<d::OfferVisit>(&dec)) {
        accepted_.push_back(*o);
      }
    }
    while (!accepted_.empty()) {
      const d::OfferVisit o = accepted_.back();
      accepted_.pop_back();
      for (const d::Event& next :
           {d::Event{d::OfferAccepted{o.offer}}, d::Event{d::VisitDeparted{o.visit}},
            d::Event{d::VisitArrived{o.visit}}}) {
        now_ += step_;
        const auto b = Clock::now();
        const double cb = thread_cpu_us();
        const d::Outcome more = dispatcher_.apply(next, now_);
        const double ce = thread_cpu_us();
        const auto e2 = Clock::now();
        if (timed) {
          latencies_us_.push_back(std::chrono::duration<double, std::micro>(e2 - b).count());
          cpu_us_.push_back(ce - cb);
        }
        for (const d::Decision& dec : more.decisions) {
          if (const auto* again = std::get_if<d::OfferVisit>(&dec)) {
            accepted_.push_back(*again);
          }
        }
      }
      on_site_.push_back(o.visit);
    }
    return out;
  }

  d::Dispatcher dispatcher_;
  std::mt19937_64 rng_;
  d::TimePoint now_;
  std::uint64_t next_visit_{1};
  std::vector<d::LatLon> bases_;
  d::Duration step_;
  std::deque<d::VisitId> on_site_;
  std::vector<d::OfferVisit> accepted_;
  std::vector<double> latencies_us_;
  std::vector<double> cpu_us_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0.0;
  }
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

void report(benchmark::State& state, SteadyState& s) {
  auto& lat = s.latencies_us();
  state.counters["p50_us"] = percentile(lat, 50);
  state.counters["p99_us"] = percentile(lat, 99);
  state.counters["max_us"] = percentile(lat, 100);
  state.counters["cpu_p50_us"] = percentile(s.cpu_us(), 50);
  state.counters["cpu_p99_us"] = percentile(s.cpu_us(), 99);
  state.counters["decisions"] = static_cast<double>(lat.size());
  state.counters["open_end"] = static_cast<double>(s.open());
}

void bm_decision(benchmark::State& state, d::PolicyKind kind) {
  const int teams = static_cast<int>(state.range(0));
  const int open = static_cast<int>(state.range(1));
  SteadyState s(kind, teams, open);
  for (auto _ : state) {
    s.cycle();
  }
  report(state, s);
}

void bm_growth(benchmark::State& state, d::PolicyKind kind) {
  const int teams = static_cast<int>(state.range(0));
  const int open = static_cast<int>(state.range(1));
  const std::int64_t before = g_live_bytes.load();
  SteadyState s(kind, teams, open);
  const std::int64_t state_bytes = g_live_bytes.load() - before;
  for (auto _ : state) {
    s.cycle();
  }
  report(state, s);
  state.counters["state_KiB"] = static_cast<double>(state_bytes) / 1024.0;
  state.counters["cpu_mean_us"] = [&s] {
    double sum = 0;
    for (const double x : s.cpu_us()) {
      sum += x;
    }
    return s.cpu_us().empty() ? 0.0 : sum / static_cast<double>(s.cpu_us().size());
  }();
}

}  // namespace

int main(int argc, char** argv) {
  const std::pair<d::PolicyKind, const char*> policies[] = {
      {d::PolicyKind::kClosestIdle, "closest_idle"},
      {d::PolicyKind::kOptimal, "optimal"},
      {d::PolicyKind::kRolling, "rolling"}};
  for (const auto& [kind, name] : policies) {
    benchmark::RegisterBenchmark((std::string("decision/") + name).c_str(), bm_decision, kind)
        ->Args({50, 20})
        ->Args({200, 50})
        ->Args({1000, 200})
        ->ArgNames({"teams", "open"})
        ->Iterations(400)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const auto& [kind, name] : policies) {
    if (kind == d::PolicyKind::kClosestIdle) {
      continue;
    }
    auto* b =
        benchmark::RegisterBenchmark((std::string("growth/") + name).c_str(), bm_growth, kind);
    for (const int open : {25, 50, 100, 200, 400, 800}) {
      b->Args({200, open});
    }
    b->ArgNames({"teams", "open"})->Iterations(200)->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

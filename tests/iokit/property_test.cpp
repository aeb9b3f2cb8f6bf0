// IOKit property test: random interrupt, timer, command-gate and I/O loads (with hot unplugs) on
// random driver stacks; invariants checked on every event and at the end: the gate is never held
// by two threads and actions run with it held, no accepted interrupt is lost or counted twice,
// every request completes exactly once and none completes after its device object is gone.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <map>
#include <random>

#include "tests/iokit/iokit_support.hpp"

using namespace testing;
using core::TraceKind;
using model::OpKind;

namespace {

struct Gen {
  std::mt19937_64 rng;
  int64_t in(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)); }
  bool chance(int percent) { return in(1, 100) <= percent; }

  scenario::Scenario s;

  model::Op chained(int32_t wl) {
    // An op that continues a run_action's body on `wl`.
    std::vector<int32_t> timers;
    for (size_t t = 0; t < s.timers.size(); ++t)
      if (s.timers[t].workloop == wl) timers.push_back(static_cast<int32_t>(t));
    int k = static_cast<int>(in(0, 3));
    if (k <= 1 && !timers.empty()) {
      int32_t t = timers[static_cast<size_t>(in(0, static_cast<int64_t>(timers.size()) - 1))];
      return k == 0 ? timer_arm_op(t, us(in(100, 3000))) : timer_cancel_op(t);
    }
    if (k == 2) return command_sleep_op(wl, static_cast<int32_t>(in(0, 1)));
    return command_wakeup_op(wl, static_cast<int32_t>(in(0, 1)), chance(50));
  }

  std::vector<model::Op> body(int depth) {
    std::vector<model::Op> ops;
    int n = static_cast<int>(in(1, 5));
    int32_t wls = static_cast<int32_t>(s.workloops.size());
    for (int i = 0; i < n; ++i) {
      int k = static_cast<int>(in(0, 11));
      if (k <= 1) {
        ops.push_back(run_op(us(in(20, 2000))));
      } else if (k <= 3) {
        ops.push_back(sleep_op(us(in(20, 3000))));
      } else if (k <= 5 && !s.devices.empty()) {
        ops.push_back(io_op(static_cast<int32_t>(in(0, static_cast<int64_t>(s.devices.size()) - 1)), us(in(0, 500))));
      } else if (k <= 7) {
        int32_t w = static_cast<int32_t>(in(0, wls - 1));
        ops.push_back(run_action_op(w, us(in(0, 800))));
        for (int64_t c = in(0, 2); c > 0; --c) ops.push_back(chained(w));
      } else if (k == 8) {
        int32_t w = static_cast<int32_t>(in(0, wls - 1));
        ops.push_back(command_wakeup_op(w, static_cast<int32_t>(in(0, 1)), chance(30)));
      } else if (k == 9 && !s.timers.empty()) {
        int32_t t = static_cast<int32_t>(in(0, static_cast<int64_t>(s.timers.size()) - 1));
        ops.push_back(chance(60) ? timer_arm_op(t, us(in(50, 4000))) : timer_cancel_op(t));
      } else if (k == 10 && depth < 2) {
        ops.push_back(loop_op(body(depth + 1), in(1, 3)));
      } else if (k == 11 && !s.devices.empty() && chance(25)) {
        ops.push_back(terminate_op(static_cast<int32_t>(in(0, static_cast<int64_t>(s.devices.size()) - 1))));
      } else {
        ops.push_back(run_op(us(in(10, 300))));
      }
    }
    return ops;
  }

  scenario::Scenario make() {
    int cpus = static_cast<int>(in(1, 3));
    s = iokit_scenario({}, ms(in(30, 150)), chance(50) ? scenario::XnuRelease::r517 : scenario::XnuRelease::r792, cpus);
    s.seed = rng();
    int nwl = static_cast<int>(in(1, 3));
    for (int w = 0; w < nwl; ++w) {
      std::vector<scenario::EventSourceSpec> sources;
      for (int64_t k = in(0, 3); k > 0; --k) {
        std::string id = "s" + std::to_string(sources.size());
        if (chance(50)) sources.push_back(interrupt_source(id, us(in(1, 300))));
        else sources.push_back(filter_source(id, us(in(1, 300)), us(in(1, 10)), static_cast<double>(in(0, 4)) / 4.0));
      }
      int pri = chance(70) ? 81 : static_cast<int>(in(20, 95));
      s.workloops.push_back(workloop("wl" + std::to_string(w), std::move(sources), pri));
    }
    for (int64_t k = in(0, 4); k > 0; --k) {
      scenario::InterruptSpec i = interrupt_at("irq" + std::to_string(s.interrupts.size()), {}, us(in(1, 40)));
      i.cpu = static_cast<int>(in(0, cpus - 1));
      int kind = static_cast<int>(in(0, 2));
      if (kind == 0) {
        i.arrival.kind = scenario::ArrivalSpec::Kind::periodic;
        i.arrival.period = us(in(200, 5000));
        i.arrival.jitter = chance(50) ? Duration{in(0, i.arrival.period.ns - 1)} : Duration{};
      } else if (kind == 1) {
        i.arrival.kind = scenario::ArrivalSpec::Kind::poisson;
        i.arrival.mean = us(in(100, 3000));
      } else {
        int64_t t = 0;
        for (int64_t n = in(1, 8); n > 0; --n) i.arrival.times.push_back(Duration{t += in(0, 3'000'000)});
      }
      int32_t w = static_cast<int32_t>(in(0, nwl - 1));
      if (!s.workloops[static_cast<size_t>(w)].sources.empty() && chance(80)) {
        i.workloop = w;
        i.source = static_cast<int32_t>(in(0, static_cast<int64_t>(s.workloops[static_cast<size_t>(w)].sources.size()) - 1));
      }
      s.interrupts.push_back(std::move(i));
    }
    for (int64_t k = in(0, 3); k > 0; --k)
      s.timers.push_back(timer("t" + std::to_string(s.timers.size()), static_cast<int32_t>(in(0, nwl - 1)), us(in(1, 500))));
    for (int64_t k = in(0, 4); k > 0; --k) {
      int32_t n = static_cast<int32_t>(s.devices.size());
      bool own = n == 0 || chance(35);
      int32_t provider = n == 0 || chance(20) ? -1 : static_cast<int32_t>(in(0, n - 1));
      if (provider < 0) own = true;  // a device with no provider needs its own work loop
      s.devices.push_back(device("d" + std::to_string(n), provider, own ? static_cast<int32_t>(in(0, nwl - 1)) : -1,
                                 us(in(10, 3000))));
      s.devices.back().direct = chance(30);  // the command-gate path: the client in runAction
    }
    for (int64_t n = in(1, 6); n > 0; --n) {
      std::vector<model::Op> program = body(0);
      if (chance(60)) {
        program.push_back(sleep_op(us(in(50, 2000))));
        program = {loop_op(program, 0)};
      }
      auto t = chance(30) ? kernel_thread("k" + std::to_string(s.threads.size()), static_cast<int>(in(60, 95)), program)
                          : user_thread("u" + std::to_string(s.threads.size()), program);
      t.start = us(in(0, 3000));
      if (chance(20)) t.cpu = static_cast<int>(in(0, cpus - 1));
      s.threads.push_back(std::move(t));
    }
    return s;
  }
};

// Checks the invariants as events stream by.
class Checker final : public core::TraceSink {
 public:
  Checker(const iokit_model::IoKit& k, size_t devices) : k_(k), phase1_(devices, -1), phase3_(devices, -1) {
    for (size_t w = 0; w < k.workloop_count(); ++w) gate_of_lock_[k.gate_lock(static_cast<int32_t>(w))] = static_cast<int32_t>(w);
    owner_.assign(k.workloop_count(), -1);
    for (size_t w = 0; w < k.workloop_count(); ++w) {
      work_event_[k.work_event(static_cast<int32_t>(w))] = static_cast<int32_t>(w);
      signals_.emplace_back(k.source_names(static_cast<int32_t>(w)).size(), 0);
      delivered_.emplace_back(k.source_names(static_cast<int32_t>(w)).size(), 0);
    }
  }

  void on_event(const core::TraceEvent& e) override {
    switch (e.kind) {
      case TraceKind::lock_acquired:
        if (auto g = gate_of_lock_.find(e.other); g != gate_of_lock_.end()) {
          INFO("gate " << g->second << " taken by " << e.thread << " while held by " << owner_[static_cast<size_t>(g->second)]);
          REQUIRE(owner_[static_cast<size_t>(g->second)] == -1);
          owner_[static_cast<size_t>(g->second)] = e.thread;
        }
        break;
      case TraceKind::lock_released:
        if (auto g = gate_of_lock_.find(e.other); g != gate_of_lock_.end()) {
          REQUIRE(owner_[static_cast<size_t>(g->second)] == e.thread);
          owner_[static_cast<size_t>(g->second)] = -1;
        }
        break;
      case TraceKind::workloop_action:
        REQUIRE(owner_[static_cast<size_t>(e.other)] == e.thread);  // actions run in the gate
        REQUIRE(e.b > 0);
        if (k_.is_interrupt_source(e.other, static_cast<int32_t>(e.a)))
          delivered_[static_cast<size_t>(e.other)][static_cast<size_t>(e.a)] += e.b;
        break;
      case TraceKind::timer_fired:
        REQUIRE(owner_[static_cast<size_t>(k_timer_workloop(e.other))] == e.thread);
        break;
      case TraceKind::event_signaled:
        if (auto w = work_event_.find(e.other); w != work_event_.end() && e.thread < 0)
          ++signals_[static_cast<size_t>(w->second)][static_cast<size_t>(e.b)];
        break;
      case TraceKind::interrupt_arrived: ++arrived_; break;
      case TraceKind::interrupt_began: ++began_; break;
      case TraceKind::io_issued:
        REQUIRE(issued_.emplace(e.a, Issued{e.other, e.time.ns, phase1_[static_cast<size_t>(e.other)] >= 0}).second);
        break;
      case TraceKind::io_completed: {
        auto it = issued_.find(e.a);
        REQUIRE(it != issued_.end());  // issued, and not completed before
        const Issued& is = it->second;
        REQUIRE(is.device == e.other);
        if (is.inactive) {
          // To a device already terminating: completed offline at once.
          REQUIRE(e.time.ns == is.at);
          REQUIRE(e.b == static_cast<int64_t>(iokit_model::kIOReturnOffline));
        } else {
          REQUIRE(phase3_[static_cast<size_t>(is.device)] < 0);  // the device object is still there
        }
        issued_.erase(it);
        ++completed_;
        break;
      }
      case TraceKind::terminated:
        if (e.a == 1) {
          REQUIRE(phase1_[static_cast<size_t>(e.other)] < 0);
          phase1_[static_cast<size_t>(e.other)] = e.time.ns;
        }
        if (e.a == 3) phase3_[static_cast<size_t>(e.other)] = e.time.ns;
        break;
      default:
        break;
    }
  }

  std::function<int32_t(int32_t)> timer_workloop;
  int32_t k_timer_workloop(int32_t t) const { return timer_workloop(t); }

  const iokit_model::IoKit& k_;
  std::map<int32_t, int32_t> gate_of_lock_, work_event_;
  std::vector<int32_t> owner_;
  std::vector<std::vector<int64_t>> signals_, delivered_;
  std::vector<int64_t> phase1_, phase3_;
  struct Issued {
    int32_t device;
    int64_t at;
    bool inactive;  // its device was terminating when it was issued
  };
  std::map<int64_t, Issued> issued_;  // outstanding
  int64_t arrived_ = 0, began_ = 0, completed_ = 0;
};

}  // namespace

TEST_CASE("iokit: random interrupt and I/O loads lose no interrupt and no request, and the gate is never shared",
          "[iokit][property]") {
  uint64_t base = std::getenv("XNUSIM_PROPERTY_SEED") ? std::strtoull(std::getenv("XNUSIM_PROPERTY_SEED"), nullptr, 10) : 5;
  int64_t requests = 0, offline_seen = 0, actions_seen = 0, coalesced_seen = 0, direct_seen = 0;
  for (int n = 0; n < 150; ++n) {
    Gen g;
    g.rng.seed(base * 1000 + static_cast<uint64_t>(n));
    scenario::Scenario s = g.make();
    INFO("case " << n << " (seed base " << base << ")");
    IoWorld w(s);
    Checker c(w.iokit(), s.devices.size());
    c.timer_workloop = [&](int32_t t) { return s.timers[static_cast<size_t>(t)].workloop; };
    w.bus.add(&c);
    w.run(s);
    const iokit_model::IoKit& k = w.iokit();
    // Every accepted interrupt went to exactly one action, or is still waiting for one.
    for (size_t wl = 0; wl < k.workloop_count(); ++wl)
      for (size_t src = 0; src < c.signals_[wl].size(); ++src) {
        if (!k.is_interrupt_source(static_cast<int32_t>(wl), static_cast<int32_t>(src))) continue;
        INFO("work loop " << wl << " source " << src);
        CHECK(c.signals_[wl][src] ==
              c.delivered_[wl][src] + static_cast<int64_t>(k.undelivered(static_cast<int32_t>(wl), static_cast<int32_t>(src))));
      }
    // Every interrupt that arrived was handled or is still queued on its CPU.
    size_t queued = 0;
    for (const model::Processor& p : w.world.dispatcher->processors()) queued += p.interrupts.size();
    CHECK(c.arrived_ >= c.began_);
    CHECK(static_cast<size_t>(c.arrived_ - c.began_) <= queued);
    // Every request completed exactly once or is still outstanding.
    CHECK(c.issued_.size() == k.outstanding_requests());
    requests += c.completed_;
    for (const auto& e : w.trace.events) {
      if (e.kind == TraceKind::io_completed && e.b == static_cast<int64_t>(iokit_model::kIOReturnOffline)) ++offline_seen;
      if (e.kind == TraceKind::io_completed && e.thread < 0) ++direct_seen;  // from primary context
      if (e.kind == TraceKind::workloop_action) {
        ++actions_seen;
        if (e.b > 1) ++coalesced_seen;
      }
    }
  }
  // The generator reaches the interesting cases.
  CHECK(requests > 500);
  CHECK(offline_seen > 20);
  CHECK(actions_seen > 2000);
  CHECK(coalesced_seen > 20);
  CHECK(direct_seen > 50);
}

// Primary interrupts: handlers above every thread, not nested, time charged to the CPU, and
// the return from interrupt honouring ASTs by the kernel-preemption rules (xnu-facts.md 5.6).
#include <catch2/catch.hpp>

#include "sim/dispatcher/dispatcher.hpp"
#include "sim/metrics/metrics_sink.hpp"
#include "sim/policies/registry.hpp"
#include "tests/support.hpp"

using namespace testing;

namespace {

// Raises interrupts at given times on CPU 0; each handler wakes thread `wakes` (if >= 0).
struct IrqDriver final : dispatcher::EventHandler, dispatcher::InterruptClient {
  dispatcher::Dispatcher* d = nullptr;
  uint16_t kind = 0;
  Duration handler;
  int32_t wakes = -1;
  std::vector<std::pair<int64_t, int64_t>> started;  // (time, latency)
  void arm(int64_t at) { d->schedule(core::SimTime{at}, dispatcher::kRankTimer, kind, 0); }
  void on_event(const core::Event& e) override { d->raise_interrupt(0, e.target, handler, this); }
  void handler_started(int32_t, int, Duration latency) override {
    started.emplace_back(d->now().ns, latency.ns);
  }
  void handler_done(int32_t, int) override {
    if (wakes >= 0) d->wake(d->thread(wakes), core::WakeReason::interrupt);
  }
};

struct World {
  std::vector<std::vector<model::Op>> programs;
  core::TraceBus bus;
  RecordingSink trace;
  std::unique_ptr<dispatcher::Dispatcher> d;
  std::unique_ptr<metrics::MetricsSink> metrics;
  IrqDriver irq;

  World(std::vector<std::pair<scenario::ThreadSpec, bool>> specs, model::MachineConfig m) {
    programs.reserve(specs.size());
    std::vector<model::Thread> ts;
    for (auto& [spec, kernel] : specs) {
      programs.push_back(spec.program);
      model::Thread t;
      t.index = static_cast<int32_t>(ts.size());
      t.name = spec.id;
      t.kernel = kernel;
      t.mode = t.declared_mode = model::ThreadMode::fixed;
      t.base_pri = t.sched_pri = spec.priority;
      t.program = &programs.back();
      ts.push_back(t);
    }
    bus.add(&trace);
    d = std::make_unique<dispatcher::Dispatcher>(m, std::move(ts), policies::find_policy("xnu")->make, &bus);
    metrics = std::make_unique<metrics::MetricsSink>(d->threads(), m.cpus);
    bus.add(metrics.get());
    irq.d = d.get();
    irq.kind = d->register_event_handler(&irq);
  }
};

model::MachineConfig one_cpu() {
  model::MachineConfig m;
  m.release = model::Release::xnu792;
  return m;
}

}  // namespace

TEST_CASE("dispatcher: a work loop woken by an interrupt runs right after it when the CPU was in user code",
          "[dispatcher][fidelity]") {
  // xnu-facts.md check 10: user thread at 31, work-loop thread at 81 blocked; an interrupt at
  // 5 ms (handler 100 us) wakes it; the return from interrupt to user mode takes the AST.
  World w({{thread("user", 31, {run_op(ms(50))}), false}, {thread("wl", 81, {sleep_op(ms(1000)), run_op(ms(1))}), true}},
          one_cpu());
  w.irq.handler = us(100);
  w.irq.wakes = 1;
  w.irq.arm(5'000'000);
  w.d->run(core::SimTime{100'000'000});
  auto r = w.metrics->results();
  CHECK(r.threads[1].latency_ns.max == 0);  // woken at 5.1 ms, on the CPU at 5.1 ms
  CHECK(r.threads[0].cpu_time_ns == 50'000'000);
  CHECK(r.threads[0].response_ns.max == 51'100'000);  // 50 ms + 100 us handler + 1 ms work loop
  CHECK(r.cpus[0].interrupt_ns == 100'000);
  CHECK(r.cpus[0].busy_ns + r.cpus[0].interrupt_ns + r.cpus[0].idle_ns == 100'000'000);
  REQUIRE(w.irq.started.size() == 1);
  CHECK(w.irq.started[0] == std::pair<int64_t, int64_t>{5'000'000, 0});
}

TEST_CASE("dispatcher: if the interrupted thread is in kernel mode the work loop waits until it blocks",
          "[dispatcher][fidelity]") {
  // Check 10, second half: a thread in a syscall (kernel mode) is not preempted by the work
  // loop (81 is not urgent); the work loop runs when it blocks.
  World w({{thread("sys", 31, {run_op(ms(20)), sleep_op(ms(10))}), true},
           {thread("wl", 81, {sleep_op(ms(1000)), run_op(ms(1))}), true}},
          one_cpu());
  w.irq.handler = us(100);
  w.irq.wakes = 1;
  w.irq.arm(5'000'000);
  w.d->run(core::SimTime{100'000'000});
  auto r = w.metrics->results();
  // Woken at 5.1 ms, it runs when "sys" blocks at 20.1 ms.
  CHECK(r.threads[1].latency_ns.max == 15'000'000);
}

TEST_CASE("dispatcher: interrupts are not nested and cost the CPU their entry, handler and exit",
          "[dispatcher][unit]") {
  model::MachineConfig m = one_cpu();
  m.interrupt_entry = us(2);
  m.interrupt_exit = us(3);
  World w({{thread("user", 31, {run_op(ms(10))}), false}}, m);
  w.irq.handler = us(50);
  w.irq.arm(1'000'000);
  w.irq.arm(1'010'000);  // arrives during the first handler: waits for it
  w.d->run(core::SimTime{20'000'000});
  auto r = w.metrics->results();
  REQUIRE(w.irq.started.size() == 2);
  // First: entry 2 us -> handler at 1.002 ms (latency 2 us); ends 1.052, exit 3 us -> 1.055.
  CHECK(w.irq.started[0] == std::pair<int64_t, int64_t>{1'002'000, 2'000});
  // Second: entry from 1.055 ms, handler at 1.057 ms: latency 47 us.
  CHECK(w.irq.started[1] == std::pair<int64_t, int64_t>{1'057'000, 47'000});
  CHECK(r.cpus[0].interrupt_ns == 2 * 55'000);
  CHECK(r.threads[0].cpu_time_ns == 10'000'000);
  CHECK(r.threads[0].response_ns.max == 10'110'000);
}

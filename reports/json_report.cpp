// Results -> results JSON; every collection is always present, empty as {} or [].
#include "reports/json_report.hpp"

#include <cstddef>
#include <utility>

#include "sim/model/priorities.hpp"

namespace sim::reports {

namespace {

using nlohmann::ordered_json;

ordered_json summary_json(const metrics::Summary& s) {
  ordered_json j = ordered_json::object();
  j["count"] = s.count;
  j["min"] = s.min;
  j["p50"] = s.p50;
  j["p90"] = s.p90;
  j["p99"] = s.p99;
  j["p999"] = s.p999;
  j["max"] = s.max;
  j["mean"] = s.mean;
  return j;
}

ordered_json thread_json(const metrics::ThreadResult& t) {
  ordered_json j = ordered_json::object();
  j["cpu_time_ns"] = t.cpu_time_ns;
  j["jobs"] = t.jobs;
  j["deadline_misses"] = t.deadline_misses;
  j["response_ns"] = summary_json(t.response_ns);
  j["latency_ns"] = summary_json(t.latency_ns);
  j["jitter_ns"] = t.jitter_ns;
  j["blocked_ns"] = t.blocked_ns;
  j["inversion_ns"] = t.inversion_ns;
  j["preemptions"] = t.preemptions;
  j["context_switches"] = t.context_switches;
  j["migrations"] = t.migrations;
  j["demotions"] = t.demotions;
  j["min_sched_pri"] = t.min_sched_pri;
  j["max_sched_pri"] = t.max_sched_pri;
  // Extension keys, after the documented ones so readers of v1 are unaffected.
  j["task"] = t.task;
  j["mode"] = t.mode;
  j["base_priority"] = t.base_priority;
  j["band"] = std::string(model::to_string(model::band_of(t.base_priority)));
  j["kernel"] = t.kernel;
  j["spin_ns"] = t.spin_ns;
  return j;
}

ordered_json cpu_json(const metrics::CpuResult& c) {
  ordered_json j = ordered_json::object();
  j["busy_ns"] = c.busy_ns;
  j["interrupt_ns"] = c.interrupt_ns;
  j["idle_ns"] = c.idle_ns;
  ordered_json bands = ordered_json::object();
  for (int b = 0; b < model::kBandCount; ++b) {
    bands[std::string(model::to_string(static_cast<model::Band>(b)))] =
        c.by_band_ns[static_cast<size_t>(b)];
  }
  j["by_band_ns"] = std::move(bands);
  j["overhead_ns"] = c.overhead_ns;
  return j;
}

}  // namespace

ordered_json results_to_json(const metrics::Results& r) {
  ordered_json j = ordered_json::object();
  j["format"] = "xnusim-results";
  j["version"] = 1;
  j["scenario"] = r.scenario;
  j["policy"] = r.policy;
  j["seed"] = r.seed;
  j["xnu"] = r.xnu;
  j["duration_ns"] = r.duration_ns;

  ordered_json threads = ordered_json::object();
  for (const auto& t : r.threads) threads[t.id] = thread_json(t);
  j["threads"] = std::move(threads);

  ordered_json cpus = ordered_json::array();
  for (const auto& c : r.cpus) cpus.push_back(cpu_json(c));
  j["cpus"] = std::move(cpus);

  ordered_json locks = ordered_json::object();
  for (const auto& l : r.locks) {
    ordered_json o = ordered_json::object();
    o["acquisitions"] = l.acquisitions;
    o["contended"] = l.contended;
    o["wait_ns"] = summary_json(l.wait_ns);
    o["hold_ns"] = summary_json(l.hold_ns);
    // Extension keys (sim/sync, locks held at thread exit).
    o["held_at_exit"] = l.held_at_exit;
    o["waiting_at_end"] = l.waiting_at_end;
    locks[l.id] = std::move(o);
  }
  j["locks"] = std::move(locks);

  ordered_json interrupts = ordered_json::object();
  for (const auto& i : r.interrupts) {
    ordered_json o = ordered_json::object();
    o["count"] = i.count;
    o["latency_ns"] = summary_json(i.latency_ns);
    interrupts[i.id] = std::move(o);
  }
  j["interrupts"] = std::move(interrupts);

  ordered_json workloops = ordered_json::object();
  for (const auto& w : r.workloops) {
    ordered_json o = ordered_json::object();
    o["actions"] = w.actions;
    o["interrupts_delivered"] = w.interrupts_delivered;
    o["action_latency_ns"] = summary_json(w.action_latency_ns);
    o["gate_wait_ns"] = summary_json(w.gate_wait_ns);
    workloops[w.id] = std::move(o);
  }
  j["workloops"] = std::move(workloops);

  ordered_json devices = ordered_json::object();
  for (const auto& d : r.devices) {
    ordered_json o = ordered_json::object();
    o["ios"] = d.ios;
    o["completed"] = d.completed;
    o["offline"] = d.offline;
    o["io_ns"] = summary_json(d.io_ns);
    devices[d.id] = std::move(o);
  }
  j["devices"] = std::move(devices);

  ordered_json system = ordered_json::object();
  system["context_switches"] = r.system.context_switches;
  system["events"] = r.system.events;
  system["panics"] = r.system.panics;  // an empty vector becomes []
  system["locks_held_at_exit"] = r.system.locks_held_at_exit;  // extension key (sim/sync)
  j["system"] = std::move(system);

  ordered_json expect = ordered_json::array();
  for (const auto& e : r.expect) {
    ordered_json o = ordered_json::object();
    o["text"] = e.text;
    o["ok"] = e.ok;
    expect.push_back(std::move(o));
  }
  j["expect"] = std::move(expect);
  return j;
}

std::string results_to_json_text(const metrics::Results& results) {
  // Invalid UTF-8 in an id must not abort the run after it finished: replace it.
  return results_to_json(results).dump(2, ' ', false,
                                      nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

}  // namespace sim::reports

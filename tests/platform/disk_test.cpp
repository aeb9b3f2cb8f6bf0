// SimGrid disks (issue 14, part 1): an io with `read`/`write` on a device with a platform disk is
// a SimGrid disk activity; its completion raises the device's interrupt, which completes the
// request through the work loop (or, on the direct path, from primary context).
//
// The model these figures come from is SimGrid 3.32's default disk model (S19), which the
// module uses unchanged: a disk has a read constraint (read_bw), a write constraint (write_bw)
// and a shared one of max(read_bw, write_bw); concurrent transfers share them max-min fairly
// (SimGrid's LMM solver). So, with read_bw 100 MB/s and write_bw 40 MB/s (the platform below):
//  - 1 MB read alone: 1e6 / 1e8 = 10 ms; 1 MB write alone: 1e6 / 4e7 = 25 ms;
//  - two 1 MB reads at once: each gets half the read bandwidth, 50 MB/s: both end at 20 ms;
//  - a 1 MB write from 0 and a 1 MB read from 5 ms: the write is alone for 5 ms (0.2 MB done);
//    then the write keeps its 40 MB/s (its own bound) and the read gets the rest of the shared
//    100 MB/s, 60 MB/s: the read ends 1e6 / 6e7 = 16.666667 ms later, at 21.666667 ms; the write
//    has 0.8 MB left at 40 MB/s from 5 ms: 25 ms by the fluid formula; SimGrid's solver ends it
//    at 24.999992 ms (8 ns, a third of a byte at 40 MB/s, early: the rounding of its shares
//    while both run), and xnusim reports what SimGrid says.
// Completion times are SimGrid's double seconds rounded up to the nanosecond.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/json_report.hpp"
#include "sim/platform/energy.hpp"
#include "sim/platform/session.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace sim;
using testing::load_text;

namespace {

const std::string kDiskPlatform =
    R"({"pstates": [{"speed": 1e9, "idle_w": 10, "all_cores_w": 20}],
        "disks": [{"id": "d0", "read_bw": "100MBps", "write_bw": 4e7}]})";

// A device on disk d0 with its own work loop (or the direct path) and the given threads. No
// machine costs: an io's time is its driver time plus the disk's.
std::string disk_scenario(const std::string& threads, const std::string& path = "workloop",
                          const std::string& platform = kDiskPlatform) {
  return R"({"format": "xnusim-scenario", "version": 1, "name": "disk", "duration": "200ms",
    "machine": {"cpus": 2, "platform": )" + platform + R"(},
    "workloops": [{"id": "wl"}],
    "devices": [{"id": "disk", "workloop": "wl", "disk": "d0", "path": ")" + path + R"("}],
    "threads": [)" + threads + "]}";
}

// One thread, started at `start`, doing one io.
std::string io_thread(const std::string& id, const std::string& io, const std::string& start = "0ms") {
  return R"({"id": ")" + id + R"(", "start": ")" + start + R"(", "program": [{"op": "io", "device": "disk", )" + io + "}]}";
}

int64_t response(const run::Results& r, const std::string& thread) {
  for (const metrics::ThreadResult& t : r.threads)
    if (t.id == thread) return t.response_ns.max;
  FAIL("no thread " << thread);
  return -1;
}

}  // namespace

TEST_CASE("disk: a read alone takes its size over the read bandwidth", "[platform][disk][unit]") {
  // 1 MB at 100 MB/s: 10 ms; "4MiB" = 4194304 B: 41.94304 ms; a write of 1 MB at 40 MB/s: 25 ms.
  run::Results r = run::run_scenario(load_text(disk_scenario(
      io_thread("a", R"("read": 1000000)") + "," + io_thread("b", R"("read": "4MiB")", "50ms") + "," +
      io_thread("c", R"("write": "1MB")", "120ms"))));
  CHECK(response(r, "a") == 10'000'000);
  CHECK(response(r, "b") == 41'943'040);
  CHECK(response(r, "c") == 25'000'000);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].completed == 3);
  CHECK(r.devices[0].io_ns.min == 10'000'000);
  // The completion came through the device's interrupt: three deliveries.
  REQUIRE(r.interrupts.size() == 1);
  CHECK(r.interrupts[0].count == 3);
}

TEST_CASE("disk: a transfer completes under every policy, also when nothing else is queued", "[platform][disk][unit]") {
  // With one client asleep in its io and no other work, the native queue may be empty (no
  // periodic tick): the dispatcher still lets the platform catch up to the end of the run, and
  // the completion at 10 ms joins the queue (Dispatcher::ExternalClock).
  for (const char* policy : {"xnu", "fixed", "edf", "bsd44", "cfs"}) {
    INFO(policy);
    run::Options o;
    o.policy = policy;
    run::Results r = run::run_scenario(load_text(disk_scenario(io_thread("a", R"("read": 1000000)"))), o);
    CHECK(response(r, "a") == 10'000'000);
  }
}

TEST_CASE("disk: `for` is the driver's CPU time before the transfer starts", "[platform][disk][unit]") {
  // The work thread computes 300 us with the gate held, then the disk reads 1 MB (10 ms).
  run::Results r = run::run_scenario(load_text(disk_scenario(io_thread("a", R"("for": "300us", "read": 1000000)"))));
  CHECK(response(r, "a") == 10'300'000);
}

TEST_CASE("disk: two concurrent reads of the same size take twice as long as one alone", "[platform][disk][unit]") {
  run::Results alone = run::run_scenario(load_text(disk_scenario(io_thread("a", R"("read": "1MB")"))));
  run::Results both = run::run_scenario(
      load_text(disk_scenario(io_thread("a", R"("read": "1MB")") + "," + io_thread("b", R"("read": "1MB")"))));
  CHECK(response(alone, "a") == 10'000'000);
  CHECK(response(both, "a") == 20'000'000);
  CHECK(response(both, "b") == 20'000'000);
  CHECK(response(both, "a") == 2 * response(alone, "a"));
}

TEST_CASE("disk: a read issued during a write ends when SimGrid's sharing says", "[platform][disk][unit]") {
  // See the top of the file: the read gets 60 MB/s beside the write's 40 MB/s.
  run::Results r = run::run_scenario(
      load_text(disk_scenario(io_thread("w", R"("write": "1MB")") + "," + io_thread("r", R"("read": "1MB")", "5ms"))));
  CHECK(response(r, "r") == 16'666'667);  // ends at 21 666 667 ns: 16.666...67 ms rounded up
  CHECK(response(r, "w") == 24'999'992);  // SimGrid's end of the write (25 ms by the fluid formula)
  // A read after the write has finished is alone again: 10 ms.
  run::Results after = run::run_scenario(
      load_text(disk_scenario(io_thread("w", R"("write": "1MB")") + "," + io_thread("r", R"("read": "1MB")", "30ms"))));
  CHECK(response(after, "w") == 25'000'000);
  CHECK(response(after, "r") == 10'000'000);
}

TEST_CASE("disk: the direct path waits for the disk in commandSleep", "[platform][disk][unit]") {
  // The client programs the transfer in a runAction (100 us) and sleeps; the completion
  // interrupt's primary handler wakes it: 100 us + 10 ms, and 2 x 10 ms for two at once.
  run::Results one = run::run_scenario(load_text(disk_scenario(io_thread("a", R"("for": "100us", "read": "1MB")"), "direct")));
  CHECK(response(one, "a") == 10'100'000);
  // Two clients at once: one takes the gate, programs its transfer (100 us) and sleeps; the
  // other then takes the gate and starts at 200 us. The first is alone for 100 us (1e4 B at
  // 100 MB/s), then both share at 50 MB/s: the first has 990 000 B left, 19.8 ms: it ends at
  // 20.0 ms; the second has 10 000 B left then, alone at 100 MB/s: 0.1 ms, it ends at 20.1 ms.
  run::Results two = run::run_scenario(load_text(disk_scenario(
      io_thread("a", R"("for": "100us", "read": "1MB")") + "," + io_thread("b", R"("for": "100us", "read": "1MB")"), "direct")));
  REQUIRE(two.devices.size() == 1);
  CHECK(two.devices[0].completed == 2);
  CHECK(two.devices[0].io_ns.min == 20'000'000);
  CHECK(two.devices[0].io_ns.max == 20'100'000);
}

TEST_CASE("disk: a platform file's disk serves a device as an inline one does", "[platform][disk][unit]") {
  // scenarios/platform/disk-host.xml: host mac, 2 cores, disk d0 at 100 MBps read, 40 MBps write.
  std::string file_platform = R"({"file": ")" + std::string(XNUSIM_SOURCE_DIR) + R"(/scenarios/platform/disk-host.xml"})";
  scenario::LoadResult l = scenario::load_scenario_text(
      disk_scenario(io_thread("w", R"("write": "1MB")") + "," + io_thread("r", R"("read": "1MB")", "5ms"), "workloop",
                    file_platform),
      "disk.json");
  REQUIRE(l.scenario);
  REQUIRE(l.scenario->machine.platform->disks.size() == 1);
  CHECK(l.scenario->machine.platform->disks[0].id == "d0");
  run::Results r = run::run_scenario(*l.scenario);
  CHECK(response(r, "r") == 16'666'667);
  CHECK(response(r, "w") == 24'999'992);
}

TEST_CASE("disk: runs with disks are deterministic", "[platform][disk][unit]") {
  // Readers in a loop on two CPUs with random driver times: the same JSON twice.
  std::string threads;
  for (int i = 0; i < 4; ++i) {
    if (i) threads += ",";
    threads += R"({"id": "t)" + std::to_string(i) + R"(", "program": [{"op": "loop", "forever": true, "body": [
      {"op": "io", "device": "disk", "for": {"uniform": ["10us", "200us"]}, "read": "64KiB"},
      {"op": "run", "for": {"exponential": "300us"}}]}]})";
  }
  std::string text = disk_scenario(threads);
  std::string a = reports::results_to_json_text(run::run_scenario(load_text(text)));
  std::string b = reports::results_to_json_text(run::run_scenario(load_text(text)));
  CHECK(a == b);
  CHECK(nlohmann::json::parse(a)["devices"]["disk"]["completed"].get<int64_t>() > 100);
}

TEST_CASE("disk: a platform with disks but no sized io gives the same results as none", "[platform][disk][unit]") {
  // The device's io ops use its fixed service: the session never starts SimGrid, and every key
  // but the energy ones is byte-identical to the run without a platform.
  auto scenario = [](const std::string& platform, const std::string& disk) {
    return R"({"format": "xnusim-scenario", "version": 1, "name": "same", "duration": "500ms", "seed": 3,
      "machine": {"cpus": 2, "costs": {"context_switch": "3us", "interrupt_entry": "2us"})" + platform + R"(},
      "workloops": [{"id": "wl"}],
      "devices": [{"id": "disk", "workloop": "wl", "service": "2ms")" + disk + R"(}],
      "threads": [{"id": "a", "program": [{"op": "loop", "forever": true, "body": [
          {"op": "io", "device": "disk", "for": "100us"}, {"op": "run", "for": {"uniform": ["100us", "2ms"]}}]}]},
        {"id": "b", "priority": 20, "program": [{"op": "run", "for": "10s"}]}]})";
  };
  std::string plain = reports::results_to_json_text(run::run_scenario(load_text(scenario("", ""))));
  int64_t trips = platform::session_round_trips_total();
  run::Results with = run::run_scenario(load_text(scenario(", \"platform\": " + kDiskPlatform, R"(, "disk": "d0")")));
  CHECK(platform::session_round_trips_total() == trips);  // SimGrid was never asked anything
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(reports::results_to_json_text(with));
  j.erase("energy");
  j["system"].erase("energy_mj");
  CHECK(reports::json_text(j) == plain);
}

TEST_CASE("disk: a missing SimGrid module stops a run with a transfer, naming the module", "[platform][disk][unit]") {
  // The energy needs the module too, but the first transfer needs it first: at 0, mid-run.
  const char* old = std::getenv("XNUSIM_SIMGRID_MODULE");
  std::string saved = old ? old : "";
  setenv("XNUSIM_SIMGRID_MODULE", "/nonexistent/libxnusim-simgrid.so", 1);
  std::string message;
  try {
    run::run_scenario(load_text(disk_scenario(io_thread("a", R"("read": "1MB")"))));
  } catch (const std::exception& e) {
    message = e.what();
  }
  if (old) setenv("XNUSIM_SIMGRID_MODULE", saved.c_str(), 1);
  else unsetenv("XNUSIM_SIMGRID_MODULE");
  CHECK(message.find("the SimGrid platform: cannot load the SimGrid module /nonexistent/libxnusim-simgrid.so") !=
        std::string::npos);
}

TEST_CASE("disk: a transfer in flight asks SimGrid only at its horizon and at its end", "[platform][disk][unit]") {
  // One 1 MB read (10 ms) beside a thread whose 100 us runs make 100 instants meanwhile: the
  // child is asked at the first instant after the start (its horizon: 10 ms less the margin)
  // and then only when an instant reaches it; the result is unchanged.
  std::string busy = R"({"id": "busy", "program": [{"op": "loop", "times": 150, "body": [
      {"op": "run", "for": "100us"}, {"op": "sleep", "for": "1ns"}]}]})";
  int64_t trips = platform::session_round_trips_total();
  run::Results r = run::run_scenario(load_text(disk_scenario(io_thread("a", R"("read": "1MB")") + "," + busy)));
  int64_t used = platform::session_round_trips_total() - trips;
  CHECK(response(r, "a") == 10'000'000);
  // The first instant after the start (reached, horizon 9.99899 ms) and the completion at 10 ms
  // (asked at the first instant past the horizon): two, where one per instant would be 100.
  CHECK(used == 2);
}

TEST_CASE("disk: the transfers run in the SimGrid child; this process never loads SimGrid", "[platform][disk][unit]") {
  // issue 14: SimGrid is used only inside sim/platform's module, loaded by a child process.
  run::Results r = run::run_scenario(load_text(disk_scenario(io_thread("a", R"("read": "1MB")"))));
  CHECK(response(r, "a") == 10'000'000);
  std::ifstream maps("/proc/self/maps");
  std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(text.empty());
  CHECK(text.find("libsimgrid") == std::string::npos);
  CHECK(text.find("libxnusim-simgrid") == std::string::npos);
}

TEST_CASE("disk: the platform XML declares the host's disks", "[platform][disk][unit]") {
  platform::HostSpec h;
  h.pstates = {platform::Pstate{1e9, 10, 10, 20}};
  h.disks = {platform::DiskSpec{"d0", 1e8, 4e7}};
  std::string xml = platform::platform_xml(h);
  CHECK(xml.find(R"(<disk id="d0" read_bw="100000000Bps" write_bw="40000000Bps" />)") != std::string::npos);
}

// SimGrid links (issue 14, part 1): a `send` through a NIC is a SimGrid communication from the
// machine to the peer host at the other end of the NIC's link, and a `packets` arrival is one
// from the peer to the machine whose arrival raises the interrupt (-> its work loop).
//
// The module pins SimGrid 3.32's CM02 network model with no cross traffic (docs/platforms.md,
// "Network"): a flow first waits the route's latency, then takes a max-min fair share of each
// link's bandwidth (a link is shared by both directions, SimGrid's default SHARED policy). So on
// a 125 MB/s link with 50 us of latency (the platform below):
//  - 1500 B alone: 50 us + 1500 / 1.25e8 s = 50 + 12 = 62 us; 1 MB alone: 50 us + 8 ms;
//  - two 1 MB sends from 0: both past their latency at 50 us, then 62.5 MB/s each: 16.05 ms;
//  - a 1 MB send from 0 and a 125 000 B packet sent by the peer at 1 ms: the send is alone from
//    50 us to 1.05 ms (125 000 B done), then both get 62.5 MB/s: the packet needs 2 ms and
//    arrives at 3.05 ms; the send has 750 000 B left then, alone at 125 MB/s: 6 ms, it ends at
//    9.05 ms (8.05 ms alone).
// Completion times are SimGrid's double seconds rounded up to the nanosecond.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "reports/json_report.hpp"
#include "sim/platform/energy.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace sim;
using testing::load_text;

namespace {

// NIC en0 on link eth0 to host "server"; its receive interrupt rx feeds net_wl's source rx
// (action 20 us). `packets` is the interrupt's packets arrival ("" for no interrupt).
std::string net_scenario(const std::string& threads, const std::string& packets = "") {
  std::string irq = packets.empty() ? "" : R"("interrupts": [{"id": "rx", "cpu": 0, "handler": "5us", "source": "net_wl.rx",
      "arrival": {"packets": )" + packets + "}}],";
  return R"({"format": "xnusim-scenario", "version": 1, "name": "net", "duration": "100ms",
    "machine": {"cpus": 2, "platform": {"pstates": [{"speed": 1e9, "idle_w": 10, "all_cores_w": 20}],
      "links": [{"id": "eth0", "peer": "server", "bandwidth": "125MBps", "latency": "50us"}]}},
    "workloops": [{"id": "net_wl", "sources": [{"id": "rx", "kind": "interrupt", "action": "20us"}]}],
    "devices": [{"id": "en0", "workloop": "net_wl", "nic": "eth0"}],)" + irq + R"(
    "threads": [)" + threads + "]}";
}

std::string sender(const std::string& id, const std::string& send, const std::string& start = "0ms") {
  return R"({"id": ")" + id + R"(", "start": ")" + start + R"(", "program": [{"op": "send", "device": "en0", "to": "server", )" +
         send + "}]}";
}

int64_t response(const run::Results& r, const std::string& thread) {
  for (const metrics::ThreadResult& t : r.threads)
    if (t.id == thread) return t.response_ns.max;
  FAIL("no thread " << thread);
  return -1;
}

// The times at which interrupt 0 (rx, the scenario's; the NIC's own completion interrupt comes
// after it) arrived.
std::vector<int64_t> arrivals(const scenario::Scenario& s) {
  testing::RecordingSink rec;
  testing::run_scenario(s, {}, {&rec});
  std::vector<int64_t> out;
  for (const core::TraceEvent& e : rec.of(core::TraceKind::interrupt_arrived))
    if (e.other == 0) out.push_back(e.time.ns);
  return out;
}

}  // namespace

TEST_CASE("network: a send takes the link's latency plus its size over the bandwidth", "[platform][network][unit]") {
  run::Results r = run::run_scenario(load_text(net_scenario(
      sender("small", R"("bytes": 1500)") + "," + sender("big", R"("bytes": "1MB", "for": "10us")", "20ms"))));
  CHECK(response(r, "small") == 62'000);
  CHECK(response(r, "big") == 10'000 + 50'000 + 8'000'000);  // the driver's 10 us first
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].ios == 2);
  CHECK(r.devices[0].completed == 2);
}

TEST_CASE("network: a send on the direct path sleeps in commandSleep until the NIC's interrupt", "[platform][network][unit]") {
  // The client programs the NIC in a runAction (30 us), then 62 us on the link for 1500 B.
  std::string text = net_scenario(sender("a", R"("bytes": 1500, "for": "30us")"));
  size_t at = text.find(R"("nic": "eth0")");
  REQUIRE(at != std::string::npos);
  text.insert(at, R"("path": "direct", )");
  run::Results r = run::run_scenario(load_text(text));
  CHECK(response(r, "a") == 92'000);
}

TEST_CASE("network: two sends at once share the link", "[platform][network][unit]") {
  run::Results r = run::run_scenario(
      load_text(net_scenario(sender("a", R"("bytes": "1MB")") + "," + sender("b", R"("bytes": "1MB")"))));
  CHECK(response(r, "a") == 16'050'000);
  CHECK(response(r, "b") == 16'050'000);
}

TEST_CASE("network: a peer's packets arrive over the link and raise the NIC's interrupt", "[platform][network][unit]") {
  // 1500 B every 1 ms, 5 of them: sent at k ms (k = 1..5), each arrives 62 us later.
  scenario::Scenario s = load_text(net_scenario(R"({"id": "idle", "program": [{"op": "run", "for": "1us"}]})",
                                                R"({"nic": "en0", "bytes": 1500, "every": "1ms", "count": 5})"));
  CHECK(arrivals(s) == std::vector<int64_t>{1'062'000, 2'062'000, 3'062'000, 4'062'000, 5'062'000});
  run::Results r = run::run_scenario(s);
  REQUIRE(r.interrupts.size() >= 1);
  CHECK(r.interrupts[0].count == 5);
  // Each interrupt's action runs on net_wl's thread: 5 actions of 20 us.
  REQUIRE(r.workloops.size() == 1);
  CHECK(r.workloops[0].actions == 5);
}

TEST_CASE("network: a packet and a send share the link both ways", "[platform][network][unit]") {
  // See the top of the file: the packet arrives at 3.05 ms, the send ends at 9.05 ms.
  scenario::Scenario s = load_text(net_scenario(sender("tx", R"("bytes": "1MB")"),
                                                R"({"nic": "en0", "bytes": 125000, "every": "1ms", "count": 1})"));
  CHECK(arrivals(s) == std::vector<int64_t>{3'050'000});
  CHECK(response(run::run_scenario(s), "tx") == 9'050'000);
}

TEST_CASE("network: runs with traffic are deterministic", "[platform][network][unit]") {
  std::string text = net_scenario(
      R"({"id": "tx", "program": [{"op": "loop", "forever": true, "body": [
          {"op": "send", "device": "en0", "to": "server", "bytes": "64KiB", "for": {"uniform": ["5us", "50us"]}},
          {"op": "sleep", "for": {"exponential": "500us"}}]}]})",
      R"({"nic": "en0", "bytes": 1500, "every": "100us"})");
  std::string a = reports::results_to_json_text(run::run_scenario(load_text(text)));
  std::string b = reports::results_to_json_text(run::run_scenario(load_text(text)));
  CHECK(a == b);
  nlohmann::json j = nlohmann::json::parse(a);
  CHECK(j["interrupts"]["rx"]["count"].get<int64_t>() == 999);  // sent at 0.1 ms .. 99.9 ms, all arrived
  CHECK(j["devices"]["en0"]["completed"].get<int64_t>() > 50);
}

TEST_CASE("network: the platform XML declares the peers, links and routes", "[platform][network][unit]") {
  platform::HostSpec h;
  h.pstates = {platform::Pstate{1e9, 10, 10, 20}};
  h.links = {platform::LinkSpec{"eth0", "server", 1.25e8, 5e-5}};
  std::string xml = platform::platform_xml(h);
  CHECK(xml.find(R"(<host id="server" speed="1Gf" />)") != std::string::npos);
  CHECK(xml.find(R"(<link id="eth0" bandwidth="125000000Bps" latency="5.0000000000000002e-05s" />)") != std::string::npos);
  CHECK(xml.find(R"(<route src="mac" dst="server"><link_ctn id="eth0" /></route>)") != std::string::npos);
}

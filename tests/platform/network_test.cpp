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

// --- The network from a platform file -------------------------------------------------------
// scenarios/platform/lan.xml: host mac (2 cores, 10 W idle, 20 W all cores); route mac-server is
// link eth0 (125 MB/s, 50 us), route mac-fileserver is eth0 then uplink (12.5 MB/s, 150 us);
// printer has no route. A NIC names its peer host, {"peer": ...}, and SimGrid routes over the
// file's links (CM02 as above: a flow waits the sum of its route's latencies, then gets its
// max-min share of every link it crosses, so alone it goes at its narrowest link's bandwidth).

namespace {

std::string lan_path() { return std::string(XNUSIM_SOURCE_DIR) + "/scenarios/platform/lan.xml"; }

// net_scenario with the machine from lan.xml and NIC en0 on `peer`; `extra_devices` adds NICs.
std::string lan_scenario(const std::string& peer, const std::string& threads, const std::string& packets = "",
                         const std::string& extra_devices = "") {
  std::string text = net_scenario(threads, packets);
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace(R"({"pstates": [{"speed": 1e9, "idle_w": 10, "all_cores_w": 20}],
      "links": [{"id": "eth0", "peer": "server", "bandwidth": "125MBps", "latency": "50us"}]})",
          R"({"file": ")" + lan_path() + R"(", "host": "mac"})");
  replace(R"("nic": "eth0"})", R"("nic": {"peer": ")" + peer + R"("}})" + extra_devices);
  return text;
}

std::string send_to(const std::string& id, const std::string& device, const std::string& to, const std::string& send,
                    const std::string& start = "0ms") {
  return R"({"id": ")" + id + R"(", "start": ")" + start + R"(", "program": [{"op": "send", "device": ")" + device +
         R"(", "to": ")" + to + R"(", )" + send + "}]}";
}

}  // namespace

TEST_CASE("network file: a send over a two-link route takes the latencies' sum and the bottleneck", "[platform][network][unit]") {
  // mac -> fileserver: eth0 + uplink. Latency 50 + 150 = 200 us; then the flow's max-min share
  // is the smaller of eth0's 125 MB/s and uplink's 12.5 MB/s: 1e6 B / 1.25e7 B/s = 80 ms.
  // 1 MB alone: 10 us of driver time, 200 us, 80 ms = 80.21 ms. 1500 B: 200 + 120 = 320 us.
  run::Results r = run::run_scenario(load_text(lan_scenario(
      "fileserver", send_to("big", "en0", "fileserver", R"("bytes": "1MB", "for": "10us")") + "," +
                        send_to("small", "en0", "fileserver", R"("bytes": 1500)", "90ms"))));
  CHECK(response(r, "big") == 10'000 + 200'000 + 80'000'000);
  CHECK(response(r, "small") == 320'000);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].ios == 2);
  CHECK(r.devices[0].completed == 2);
}

TEST_CASE("network file: packets from a peer two links away arrive over its route", "[platform][network][unit]") {
  // fileserver -> mac over uplink + eth0 (the route is symmetrical): 1500 B sent at k ms arrive
  // 200 us + 1500 / 1.25e7 s = 320 us later.
  scenario::Scenario s = load_text(lan_scenario("fileserver", R"({"id": "idle", "program": [{"op": "run", "for": "1us"}]})",
                                                R"({"nic": "en0", "bytes": 1500, "every": "1ms", "count": 3})"));
  CHECK(arrivals(s) == std::vector<int64_t>{1'320'000, 2'320'000, 3'320'000});
}

TEST_CASE("network file: a peer routed over eth0 alone gives the inline link's timings", "[platform][network][unit]") {
  // lan.xml's route to "server" is eth0 (125 MB/s, 50 us): the inline platform of net_scenario.
  // The inline cases above, run again with the file: two sends at once 16.05 ms each; a 1 MB send
  // and a 125 000 B packet both ways: the packet arrives at 3.05 ms, the send ends at 9.05 ms.
  std::string two = sender("a", R"("bytes": "1MB")") + "," + sender("b", R"("bytes": "1MB")");
  run::Results inline_run = run::run_scenario(load_text(net_scenario(two)));
  run::Results file_run = run::run_scenario(load_text(lan_scenario("server", two)));
  CHECK(response(file_run, "a") == 16'050'000);
  CHECK(response(file_run, "b") == 16'050'000);
  CHECK(response(file_run, "a") == response(inline_run, "a"));
  std::string packet = R"({"nic": "en0", "bytes": 125000, "every": "1ms", "count": 1})";
  scenario::Scenario s = load_text(lan_scenario("server", sender("tx", R"("bytes": "1MB")"), packet));
  CHECK(arrivals(s) == std::vector<int64_t>{3'050'000});
  CHECK(response(run::run_scenario(s), "tx") == 9'050'000);
  // The same host figures (1 GHz, 10 W idle, 20 W all cores): the same energy too.
  REQUIRE(inline_run.energy.present);
  REQUIRE(file_run.energy.present);
  CHECK(file_run.energy.joules == inline_run.energy.joules);
  CHECK(file_run.system.energy_mj == inline_run.system.energy_mj);
}

TEST_CASE("network file: routes that share a link share its bandwidth", "[platform][network][unit]") {
  // en0 to fileserver (eth0 + uplink) and en1 to server (eth0), 1 MB each from 0. The server
  // flow is alone on eth0 from 50 us (its latency) until the fileserver flow leaves its latency
  // at 200 us: 150 us x 125 MB/s = 18 750 B. Then max-min: uplink holds the fileserver flow to
  // 12.5 MB/s, so the server flow gets the rest of eth0, 112.5 MB/s: 981 250 B more take
  // 8.7222 ms, it ends at 8.9222222 ms, 8 922 223 ns rounded up. The fileserver flow is at
  // 12.5 MB/s throughout: 80.2 ms.
  run::Results r = run::run_scenario(load_text(
      lan_scenario("fileserver", send_to("far", "en0", "fileserver", R"("bytes": "1MB")") + "," +
                                     send_to("near", "en1", "server", R"("bytes": "1MB")"),
                   "", R"(, {"id": "en1", "workloop": "net_wl", "nic": {"peer": "server"}})")));
  CHECK(response(r, "far") == 80'200'000);
  CHECK(response(r, "near") == 8'922'223);
}

TEST_CASE("network file: packets from a near peer get what a far flow leaves of the shared link", "[platform][network][unit]") {
  // A 1 MB send to fileserver (en1) runs from 200 us to 80.2 ms at uplink's 12.5 MB/s; 1500 B
  // packets from server (en0, over eth0) at 1 and 2 ms share eth0 with it: max-min gives them
  // 125 - 12.5 = 112.5 MB/s, so 50 us + 1500 / 1.125e8 s = 63.333 us: 1 063 334 ns rounded up
  // (62 us when alone, the inline case above).
  scenario::Scenario s = load_text(lan_scenario("server", send_to("far", "en1", "fileserver", R"("bytes": "1MB")"),
                                                R"({"nic": "en0", "bytes": 1500, "every": "1ms", "count": 2})",
                                                R"(, {"id": "en1", "workloop": "net_wl", "nic": {"peer": "fileserver"}})"));
  CHECK(arrivals(s) == std::vector<int64_t>{1'063'334, 2'063'334});
  CHECK(response(run::run_scenario(s), "far") == 80'200'000);
}

TEST_CASE("network file: the inline form takes {\"peer\": ...} too", "[platform][network][unit]") {
  std::string text = net_scenario(sender("small", R"("bytes": 1500)"));
  size_t at = text.find(R"("nic": "eth0")");
  REQUIRE(at != std::string::npos);
  text.replace(at, 13, R"("nic": {"peer": "server"})");
  CHECK(response(run::run_scenario(load_text(text)), "small") == 62'000);
}

// World checks: the header, the machine, and the declared objects (locks, events, work loops,
// timers, devices, interrupts, threads). Programs are read by program_checks.cpp.
#include <cctype>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "sim/model/priorities.hpp"
#include "sim/platform/energy.hpp"
#include "sim/scenario/calibration_file.hpp"
#include "sim/scenario/load/checker.hpp"

namespace sim::scenario::load {

// --- top level -------------------------------------------------------------------------------

Scenario Checker::run(const Json& root) {
  s_.file = file_;
  s_.name = std::filesystem::path(file_).stem().string();
  if (!root.is_object()) {
    error("", fmt::format("a scenario must be a JSON object (got {})", got(root)));
    return std::move(s_);
  }
  // Another format or a later version would only produce a flood of misleading errors.
  if (!header(root)) return std::move(s_);
  check_keys(
      root, "",
      {"format", "version", "name", "description", "seed", "duration", "machine", "policy", "locks",
       "events", "workloops", "interrupts", "timers", "devices", "threads", "expect"},
      "at the top level");

  optional_key(root, "", "name", s_.name,
               [&](const Json& v, const std::string& p) { return read_text(v, p, false); });
  optional_key(root, "", "description", s_.description,
               [&](const Json& v, const std::string& p) { return read_text(v, p, true); });
  if (const Json* v = member(root, "seed")) {
    if (v->is_number_unsigned())
      s_.seed = v->as_uint();
    else if (v->is_number_integer() && v->as_int() >= 0)
      s_.seed = static_cast<uint64_t>(v->as_int());
    else
      error("/seed", fmt::format("must be a non-negative integer (got {})",
                                 v->is_number() ? v->dump() : got(*v)));
  }
  if (const Json* v = require(root, "", "duration"))
    if (auto d = read_duration(*v, "/duration", Sign::positive)) s_.duration = *d;
  if (const Json* v = member(root, "policy"))
    if (auto p = read_text(*v, "/policy", false)) s_.policy = *p;
  if (const Json* m = member(root, "machine")) machine(*m, "/machine");

  // Each section declares its ids before its entries are read, so references may point forward
  // (a device's provider declared after it); sections are read in dependency order.
  if (const Json* a = declare(root, "locks", locks_)) {
    s_.locks.resize(a->size());
    lock_kinds_.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) lock((*a)[i], at("/locks", i), i);
  }
  if (const Json* a = declare(root, "events", events_)) {
    s_.events.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      const Json& e = (*a)[i];
      std::string p = at("/events", i);
      s_.events[i].id = events_.names[i];
      s_.events[i].pointer = p;
      if (!e.is_object()) continue;
      check_keys(e, p, {"id", "policy", "count"}, "in an event");
      if (const Json* pol = member(e, "policy"))
        if (auto fp = read_enum<bool>(*pol, at(p, "policy"), {{"fifo", false}, {"fixed_priority", true}}))
          s_.events[i].fixed_priority = *fp;
      // A semaphore: semaphore_create refuses a negative initial value (KERN_INVALID_ARGUMENT).
      if (const Json* c = member(e, "count"))
        if (auto n = read_int(*c, at(p, "count"), 0, 1'000'000'000, "0 to 1000000000"))
          s_.events[i].count = *n;
    }
  }
  if (const Json* a = declare(root, "workloops", workloops_)) {
    s_.workloops.resize(a->size());
    sources_.assign(a->size(), Ids("event source"));
    for (size_t i = 0; i < a->size(); ++i) workloop((*a)[i], at("/workloops", i), i);
  }
  if (const Json* a = declare(root, "timers", timers_)) {
    s_.timers.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) timer((*a)[i], at("/timers", i), i);
  }
  if (const Json* a = declare(root, "devices", devices_)) {
    s_.devices.resize(a->size());
    device_ref_error_.assign(a->size(), false);
    for (size_t i = 0; i < a->size(); ++i) device((*a)[i], at("/devices", i), i);
    check_device_graph();
  }
  if (const Json* a = declare(root, "interrupts", interrupts_)) {
    s_.interrupts.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) interrupt((*a)[i], at("/interrupts", i), i);
  }
  if (const Json* a = declare(root, "threads", threads_)) {
    s_.threads.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) thread((*a)[i], at("/threads", i), i);
    check_task_nice();
    check_task_refs();
    check_spawns();
  }
  if (const Json* a = member(root, "expect")) {
    if (!a->is_array()) {
      error("/expect", fmt::format("must be an array (got {})", got(*a)));
    } else {
      for (size_t i = 0; i < a->size(); ++i) expect((*a)[i], at("/expect", i));
    }
  }
  return std::move(s_);
}

bool Checker::header(const Json& root) {
  bool readable = true;
  if (const Json* f = member(root, "format")) {
    if (!f->is_string() || f->str() != "xnusim-scenario") {
      Diagnostic& d = error("/format", fmt::format("must be \"xnusim-scenario\" (got {})",
                                                   f->is_string() ? written(*f) : got(*f)));
      if (f->is_string() && f->str() == "xnusim-results")
        d.notes.push_back("this is a results file written by `xnusim run --json`, not a scenario");
      readable = false;
    }
  } else {
    error("", "missing required key \"format\"")
        .notes.push_back("a scenario starts with \"format\": \"xnusim-scenario\", \"version\": 1");
  }
  if (const Json* v = member(root, "version")) {
    if (!v->is_number_integer()) {
      error("/version", fmt::format("must be the integer 1 (got {})", got(*v)));
    } else if (v->is_number_unsigned() && v->as_uint() > 1) {
      error("/version", fmt::format("this build of xnusim reads version 1 of the scenario format "
                                    "(got version {})",
                                    v->dump()))
          .notes.push_back("use the xnusim release that wrote this scenario, or a newer one");
      readable = false;
    } else if (!v->is_number_unsigned() || v->as_uint() != 1) {
      error("/version", fmt::format("must be 1 (got {})", v->dump()));
    }
  } else {
    error("", "missing required key \"version\"")
        .notes.push_back("this build reads \"version\": 1");
  }
  return readable;
}

void Checker::machine(const Json& m, const std::string& ptr) {
  if (!require_object(m, ptr)) return;
  check_keys(m, ptr, {"cpus", "xnu", "quantum", "costs", "calibration", "funnels", "platform"},
             "in \"machine\"");
  MachineSpec& out = s_.machine;
  std::vector<std::string> explicit_costs;  // the costs the scenario gives itself
  if (const Json* v = member(m, "cpus")) {
    if (auto c = read_int(*v, at(ptr, "cpus"), 1, kMaxCpus,
                          fmt::format("an integer from 1 to {}", kMaxCpus))) {
      out.cpus = static_cast<int>(*c);
      cpus_ = out.cpus;
    } else {
      cpus_known_ = false;
    }
  }
  if (const Json* v = member(m, "xnu")) {
    std::string p = at(ptr, "xnu");
    // Users often know a release by its Mac OS X version rather than by xnu's.
    std::string text = v->is_string() ? v->str() : "";
    std::string_view os =
        text == "10.3" || text == "10.3.9"    ? "Mac OS X 10.3 (Panther) is xnu \"517\""
        : text == "10.4" || text == "10.4.11" ? "Mac OS X 10.4 (Tiger) is xnu \"792\""
                                              : "";
    if (!os.empty())
      error(p, fmt::format("must be \"517\" or \"792\" (got {})", quote(text)))
          .notes.emplace_back(os);
    else if (auto x = read_enum<XnuRelease>(*v, p,
                                            {{"517", XnuRelease::r517}, {"792", XnuRelease::r792}}))
      out.xnu = *x;
  }
  optional_key(m, ptr, "quantum", out.quantum, [&](const Json& v, const std::string& p) {
    return read_duration(v, p, Sign::positive);
  });
  if (const Json* c = member(m, "costs")) {
    std::string cp = at(ptr, "costs");
    if (require_object(*c, cp)) {
      check_keys(*c, cp, {"context_switch", "interrupt_entry", "interrupt_exit", "thread_wakeup"},
                 "in \"costs\"");
      auto cost = [&](const char* key, Duration& d) {
        if (member(*c, key)) explicit_costs.push_back(key);
        optional_key(*c, cp, key, d, [&](const Json& v, const std::string& p) {
          return read_duration(v, p, Sign::non_negative);
        });
      };
      cost("context_switch", out.costs.context_switch);
      cost("interrupt_entry", out.costs.interrupt_entry);
      cost("interrupt_exit", out.costs.interrupt_exit);
      cost("thread_wakeup", out.costs.thread_wakeup);
    }
  }
  optional_key(m, ptr, "calibration", out.calibration,
               [&](const Json& v, const std::string& p) { return read_text(v, p, false); });
  if (!out.calibration.empty()) calibration(at(ptr, "calibration"), explicit_costs);
  optional_key(m, ptr, "funnels", out.funnels, [&](const Json& v, const std::string& p) {
    return read_enum<FunnelSetup>(v, p,
                                  {{"split", FunnelSetup::split}, {"merged", FunnelSetup::merged}});
  });
  if (const Json* p = member(m, "platform")) platform(*p, at(ptr, "platform"));
}

// machine.platform's file: SimGrid reads it (in a child process, sim/platform) and says what
// it declares for the host: it must exist, have the scenario's CPUs as cores and the power
// figures the energy plugin reads. Fills `out` (file_path, pstates, pstate); false on an error.
bool Checker::platform_file(const std::string& ptr, PlatformSpec& out) {
  out.file_path = resolve_calibration_path(file_, out.file);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(out.file_path, ec)) {
    error(ptr, fmt::format("platform file {}: cannot open it", quote(out.file_path)))
        .notes.push_back("paths are relative to the scenario's folder (docs/platforms.md)");
    return false;
  }
  platform::FileHostRead r = platform::inspect_platform_file(out.file_path, out.host);
  if (!r.error.empty() || r.host.status == 1) {
    error(ptr, fmt::format("platform file {}: SimGrid cannot read it{}", quote(out.file_path),
                           r.error.empty() ? "" : " (" + r.error + ")"))
        .notes.push_back("check it with SimGrid's own tools; the format is SimGrid 3.32's platform XML (version 4.1)");
    return false;
  }
  if (r.host.status == 2) {
    error(ptr, fmt::format("platform file {} has no host {}", quote(out.file_path), quote(out.host)))
        .notes.push_back(fmt::format("its hosts: {}; name the simulated machine with \"host\"", r.host.hosts));
    return false;
  }
  bool ok = true;
  if (cpus_known_ && r.host.cores != cpus_) {
    error(ptr, fmt::format("host {} has {} core{} in {}, but the machine has {} CPU{}", quote(out.host), r.host.cores,
                           r.host.cores == 1 ? "" : "s", quote(out.file_path), cpus_, cpus_ == 1 ? "" : "s"))
        .notes.push_back("the host's cores are the scenario's CPUs: make \"core\" and \"cpus\" agree");
    ok = false;
  }
  if (!r.host.has_wattage) {
    error(ptr, fmt::format("host {} in {} has no \"wattage_per_state\" property", quote(out.host), quote(out.file_path)))
        .notes.push_back("SimGrid's energy plugin reads it: <prop id=\"wattage_per_state\" value=\"idle:epsilon:all_cores\" /> (docs/platforms.md)");
    ok = false;
  }
  std::string names(r.host.disks);
  for (size_t b = 0, e; (e = names.find('\n', b)) != std::string::npos; b = e + 1)
    out.disks.push_back(DiskSpec{names.substr(b, e - b), 0, 0});
  out.pstates.assign(static_cast<size_t>(std::max(1, r.host.pstates)), PstateSpec{});
  out.pstate = r.host.pstate;
  return ok;
}

// A size in bytes: a positive integer, or digits and a unit: B, kB, MB, GB (powers of 1000) or
// KiB, MiB, GiB (powers of 1024), e.g. "4MiB" (4194304), "1500B".
std::optional<int64_t> Checker::read_size(const Json& v, const std::string& ptr) {
  constexpr int64_t kMaxSize = int64_t{1} << 50;  // 1 PiB: far beyond any one transfer
  if (v.is_number_integer() || v.is_number_unsigned()) {
    if (v.is_number_unsigned() ? v.as_uint() <= static_cast<uint64_t>(kMaxSize) : v.as_int() > 0 && v.as_int() <= kMaxSize) {
      int64_t n = v.is_number_unsigned() ? static_cast<int64_t>(v.as_uint()) : v.as_int();
      if (n > 0) return n;
    }
  } else if (v.is_string()) {
    const std::string& t = v.str();
    size_t digits = 0;
    while (digits < t.size() && digits < 16 && t[digits] >= '0' && t[digits] <= '9') ++digits;
    static const std::pair<const char*, int64_t> kUnits[] = {
        {"B", 1}, {"kB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
        {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024 * 1024 * 1024}};
    if (digits > 0 && digits < t.size()) {
      int64_t n = std::stoll(t.substr(0, digits));
      std::string unit = t.substr(digits);
      for (const auto& [name, mult] : kUnits)
        if (unit == name && n > 0 && n <= kMaxSize / mult) return n * mult;
    }
  }
  error(ptr, fmt::format("must be a positive size in bytes (got {})", v.is_number() ? v.dump() : v.is_string() ? written(v) : got(v)))
      .notes.push_back("an integer number of bytes up to 2^50 (1 PiB), or digits and a unit (B, kB, MB, GB, KiB, MiB, GiB) such as \"4MiB\", \"64KiB\", \"1500B\", \"2MB\"");
  return std::nullopt;
}

// A bandwidth in bytes/s: a positive number, or a string in SimGrid's spelling: a number and
// Bps, kBps, MBps, GBps (powers of 1000) or KiBps, MiBps, GiBps (powers of 1024), e.g. "100MBps".
std::optional<double> Checker::read_bandwidth(const Json& v, const std::string& ptr) {
  if (v.is_string()) {
    const std::string& t = v.str();
    static const std::pair<const char*, double> kUnits[] = {
        {"Bps", 1}, {"kBps", 1e3}, {"MBps", 1e6}, {"GBps", 1e9},
        {"KiBps", 1024.0}, {"MiBps", 1024.0 * 1024}, {"GiBps", 1024.0 * 1024 * 1024}};
    size_t end = 0;
    while (end < t.size() && ((t[end] >= '0' && t[end] <= '9') || t[end] == '.')) ++end;
    if (end > 0 && end < t.size()) {
      char* stop = nullptr;
      std::string num = t.substr(0, end);
      double n = std::strtod(num.c_str(), &stop);
      if (stop && *stop == '\0' && std::isfinite(n) && n > 0)
        for (const auto& [name, mult] : kUnits)
          if (t.substr(end) == name && n * mult < 1e18) return n * mult;
    }
    error(ptr, fmt::format("must be a positive bandwidth (got {})", written(v)))
        .notes.push_back("bytes/s as a number, or a string such as \"100MBps\", \"40MiBps\"");
    return std::nullopt;
  }
  return read_watts(v, ptr, true);
}

// A finite number of watts (or flop/s): >= 0, or > 0 when `positive`.
std::optional<double> Checker::read_watts(const Json& v, const std::string& ptr, bool positive) {
  if (v.is_number()) {
    double d = v.as_double();
    if (std::isfinite(d) && (positive ? d > 0 : d >= 0) && d < 1e18) return d;
  }
  error(ptr, fmt::format("must be a {} number (got {})", positive ? "positive" : "non-negative", got(v)));
  return std::nullopt;
}

// machine.platform: the machine as a SimGrid host (docs/platforms.md). Its cores are the
// scenario's CPUs.
void Checker::platform(const Json& v, const std::string& ptr) {
  if (v.is_string()) {  // "platform": "mac.xml": a file whose host "mac" is the machine
    PlatformSpec out;
    if (auto f = read_text(v, ptr, false)) {
      out.file = *f;
      if (platform_file(ptr, out)) s_.machine.platform = out;
      else platform_refused_ = true;
    } else {
      platform_refused_ = true;
    }
    return;
  }
  if (!require_object(v, ptr)) return;
  // SimGrid links and other hosts are not built yet (docs/platforms.md): said so, rather than
  // "unknown key".
  bool unbuilt = false;
  if (member(v, "hosts")) {
    error(at(ptr, "hosts"), "not supported: platform hosts (peer hosts come from \"links\")")
        .notes.push_back("declare each peer with its link: \"links\": [{\"id\": \"eth0\", \"peer\": \"server\", \"bandwidth\": \"125MBps\", \"latency\": \"50us\"}] (docs/platforms.md)");
    unbuilt = true;
  }
  check_keys(v, ptr, {"host", "file", "pstates", "pstate", "off_w", "disks", "links", "hosts"},
             "in \"platform\"");
  PlatformSpec out;
  optional_key(v, ptr, "host", out.host,
               [&](const Json& h, const std::string& p) { return read_name(h, p, "host name"); });
  if (const Json* f = member(v, "file")) {
    for (const char* k : {"pstates", "pstate", "off_w", "disks"})
      if (member(v, k))
        error(at(ptr, k), fmt::format("comes from the platform file; remove {} here", quote(k)))
            .notes.push_back("with \"file\", SimGrid reads the host's pstates, power figures and disks from it");
    if (member(v, "links"))
      error(at(ptr, "links"), "comes from the platform file; remove \"links\" here")
          .notes.push_back("with \"file\", a NIC names a host of the file, \"nic\": {\"peer\": \"server\"}, and SimGrid routes to it over the file's links (docs/platforms.md, \"Network\")");
    auto name = read_text(*f, at(ptr, "file"), false);
    bool given = !member(v, "pstates") && !member(v, "pstate") && !member(v, "off_w") && !member(v, "disks") &&
                 !member(v, "links");
    if (name) out.file = *name;
    if (name && given && !unbuilt && platform_file(at(ptr, "file"), out)) s_.machine.platform = out;
    else platform_refused_ = true;
    return;
  }
  optional_key(v, ptr, "off_w", out.off_w,
               [&](const Json& w, const std::string& p) { return read_watts(w, p, false); });
  const Json* ps = require(v, ptr, "pstates");
  bool ok = ps != nullptr;
  if (ps) {
    std::string pp = at(ptr, "pstates");
    if (!ps->is_array() || ps->size() == 0) {
      error(pp, fmt::format("must be a non-empty array of pstates (got {})",
                            ps->is_array() ? std::string("an empty array") : got(*ps)))
          .notes.push_back("{\"speed\": 1e9, \"idle_w\": 10, \"all_cores_w\": 30}: flop/s of a core, watts");
      ok = false;
    } else {
      for (size_t i = 0; i < ps->size(); ++i) {
        const Json& e = (*ps)[i];
        std::string ep = at(pp, std::to_string(i));
        if (!require_object(e, ep)) {
          ok = false;
          continue;
        }
        check_keys(e, ep, {"speed", "idle_w", "epsilon_w", "all_cores_w"}, "in a pstate");
        PstateSpec st;
        bool have = true;
        auto need = [&](const char* key, double& dst, bool positive) {
          const Json* k = require(e, ep, key);
          std::optional<double> d = k ? read_watts(*k, at(ep, key), positive) : std::nullopt;
          if (d) dst = *d;
          else have = false;
        };
        need("speed", st.speed, true);
        need("idle_w", st.idle_w, false);
        need("all_cores_w", st.all_cores_w, false);
        st.epsilon_w = st.idle_w;
        optional_key(e, ep, "epsilon_w", st.epsilon_w,
                     [&](const Json& w, const std::string& p) { return read_watts(w, p, false); });
        ok = ok && have;
        out.pstates.push_back(st);
      }
    }
  }
  if (const Json* p = member(v, "pstate")) {
    int64_t hi = out.pstates.empty() ? 0 : static_cast<int64_t>(out.pstates.size()) - 1;
    if (auto i = read_int(*p, at(ptr, "pstate"), 0, hi, fmt::format("a pstate index from 0 to {}", hi)))
      out.pstate = static_cast<int>(*i);
  }
  if (const Json* dk = member(v, "disks")) platform_disks(*dk, at(ptr, "disks"), out);
  if (const Json* lk = member(v, "links")) platform_links(*lk, at(ptr, "links"), out);
  if (ok && !unbuilt) s_.machine.platform = out;
  else platform_refused_ = true;
}

// "arrival": {"packets": {"nic", "bytes", "every", "count"}}: the NIC's peer host sends a packet
// of `bytes` every `every` (from `every` on; `count` of them, default until the end), carried
// by SimGrid over the NIC's link; each arrival is an interrupt (docs/platforms.md, "Network").
bool Checker::packets_arrival(const Json& a, const std::string& ptr, ArrivalSpec& out) {
  check_keys(a, ptr, {"packets"}, "in \"arrival\" with \"packets\"");
  std::string pp = at(ptr, "packets");
  const Json& p = *member(a, "packets");
  if (!require_object(p, pp)) return false;
  check_keys(p, pp, {"nic", "bytes", "every", "count"}, "in \"packets\"");
  out.kind = ArrivalSpec::Kind::packets;
  bool ok = true;
  if (const Json* n = require(p, pp, "nic")) {
    if (auto r = resolve(*n, at(pp, "nic"), devices_)) {
      const DeviceSpec& dev = s_.devices[static_cast<size_t>(*r)];
      if (dev.nic == -1) {
        error(at(pp, "nic"), fmt::format("device {} is not a NIC", quote(dev.id)))
            .notes.push_back("give it \"nic\": one of machine.platform's links (docs/platforms.md)");
        ok = false;
      } else if (dev.nic < 0) {
        ok = false;  // its own error was given
      } else {
        out.nic = *r;
      }
    } else {
      ok = false;
    }
  } else {
    ok = false;
  }
  if (const Json* b = require(p, pp, "bytes")) {
    if (auto n = read_size(*b, at(pp, "bytes"))) out.bytes = *n;
    else ok = false;
  } else {
    ok = false;
  }
  if (const Json* e = require(p, pp, "every")) {
    if (auto d = read_duration(*e, at(pp, "every"), Sign::positive)) out.period = *d;
    else ok = false;
  } else {
    ok = false;
  }
  if (const Json* c = member(p, "count")) {
    if (auto n = read_int(*c, at(pp, "count"), 1, 1'000'000'000, "a count from 1 to 1000000000")) out.count = *n;
    else ok = false;
  }
  return ok;
}

// machine.platform.links: [{"id", "peer", "bandwidth", "latency"}]: each link joins the host to
// its own peer host, and is the route between them (docs/platforms.md, "Network").
void Checker::platform_links(const Json& v, const std::string& ptr, PlatformSpec& out) {
  if (!v.is_array()) {
    error(ptr, fmt::format("must be an array of links (got {})", got(v)))
        .notes.push_back("[{\"id\": \"eth0\", \"peer\": \"server\", \"bandwidth\": \"125MBps\", \"latency\": \"50us\"}] (docs/platforms.md)");
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& e = v[i];
    std::string ep = at(ptr, std::to_string(i));
    if (!require_object(e, ep)) continue;
    check_keys(e, ep, {"id", "peer", "bandwidth", "latency"}, "in a link");
    LinkSpec l;
    if (const Json* id = require(e, ep, "id"))
      if (auto n = read_name(*id, at(ep, "id"), "link id")) {
        l.id = *n;
        for (const LinkSpec& other : out.links)
          if (other.id == l.id)
            error(at(ep, "id"), fmt::format("duplicate link id {}", quote(l.id)))
                .notes.push_back("each link needs its own id");
      }
    if (const Json* p = require(e, ep, "peer"))
      if (auto n = read_name(*p, at(ep, "peer"), "host name")) {
        l.peer = *n;
        if (l.peer == out.host)
          error(at(ep, "peer"), fmt::format("the peer must be another host than the machine {}", quote(out.host)))
              .notes.push_back("a link joins the simulated machine to a peer host");
        for (const LinkSpec& other : out.links)
          if (other.peer == l.peer)
            error(at(ep, "peer"), fmt::format("host {} already has a link ({})", quote(l.peer), quote(other.id)))
                .notes.push_back("one link per peer host: it is the route between the machine and that host");
      }
    if (const Json* b = require(e, ep, "bandwidth"))
      if (auto bw = read_bandwidth(*b, at(ep, "bandwidth"))) l.bandwidth = *bw;
    if (const Json* lat = require(e, ep, "latency"))
      if (auto d = read_duration(*lat, at(ep, "latency"), Sign::non_negative)) l.latency = *d;
    out.links.push_back(l);
  }
}

// machine.platform.disks: [{"id", "read_bw", "write_bw"}], bandwidths in bytes/s (SimGrid's
// <disk> elements of the host).
void Checker::platform_disks(const Json& v, const std::string& ptr, PlatformSpec& out) {
  if (!v.is_array()) {
    error(ptr, fmt::format("must be an array of disks (got {})", got(v)))
        .notes.push_back("[{\"id\": \"d0\", \"read_bw\": \"100MBps\", \"write_bw\": \"40MBps\"}] (docs/platforms.md)");
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& e = v[i];
    std::string ep = at(ptr, std::to_string(i));
    if (!require_object(e, ep)) continue;
    check_keys(e, ep, {"id", "read_bw", "write_bw"}, "in a disk");
    DiskSpec d;
    if (const Json* id = require(e, ep, "id"))
      if (auto n = read_name(*id, at(ep, "id"), "disk id")) {
        d.id = *n;
        for (const DiskSpec& other : out.disks)
          if (other.id == d.id)
            error(at(ep, "id"), fmt::format("duplicate disk id {}", quote(d.id)))
                .notes.push_back("each disk of the host needs its own id");
      }
    if (const Json* r = require(e, ep, "read_bw"))
      if (auto b = read_bandwidth(*r, at(ep, "read_bw"))) d.read_bw = *b;
    if (const Json* w = require(e, ep, "write_bw"))
      if (auto b = read_bandwidth(*w, at(ep, "write_bw"))) d.write_bw = *b;
    out.disks.push_back(d);
  }
}

// machine.calibration: reads the file `xnusim calibrate` wrote (docs/calibration.md) and fills
// the costs the scenario did not give itself. A missing or malformed file is an error here, at
// load time, so that no run silently uses zero costs.
void Checker::calibration(const std::string& ptr, const std::vector<std::string>& explicit_costs) {
  MachineSpec& out = s_.machine;
  std::string path = resolve_calibration_path(file_, out.calibration);
  CalibrationRead r = read_calibration_file(path);
  if (!r.values) {
    std::string where = r.pointer.empty() ? "" : fmt::format(" at {}", r.pointer);
    error(ptr, fmt::format("calibration file {}{}: {}", quote(path), where, r.message))
        .notes.push_back(r.fix);
    return;
  }
  auto fill = [&](const char* key, Duration& dst, Duration value) {
    if (std::find(explicit_costs.begin(), explicit_costs.end(), key) == explicit_costs.end())
      dst = value;
  };
  fill("context_switch", out.costs.context_switch, r.values->costs.context_switch);
  fill("interrupt_entry", out.costs.interrupt_entry, r.values->costs.interrupt_entry);
  fill("interrupt_exit", out.costs.interrupt_exit, r.values->costs.interrupt_exit);
  fill("thread_wakeup", out.costs.thread_wakeup, r.values->costs.thread_wakeup);
}

// Records the ids of one section's entries; returns the array, or nullptr when it is absent or
// not an array.
const Json* Checker::declare(const Json& root, const std::string& key, Ids& ids) {
  const Json* a = member(root, key);
  if (!a) return nullptr;
  std::string ptr = at("", key);
  if (!a->is_array()) {
    error(ptr, fmt::format("must be an array (got {})", got(*a)));
    ids.incomplete = true;
    return nullptr;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    const Json& e = (*a)[i];
    std::string p = at(ptr, i);
    ids.add(p);
    if (!e.is_object()) {
      Diagnostic& d = error(p, fmt::format("must be an object (got {})", got(e)));
      if (e.is_string()) d.notes.push_back(fmt::format("write {{\"id\": {}, ...}}", written(e)));
      ids.incomplete = true;
      continue;
    }
    const Json* idv = require(e, p, "id");
    std::optional<std::string> id;
    if (idv) id = read_name(*idv, at(p, "id"), "id");
    if (!id) {
      ids.incomplete = true;
      continue;
    }
    if (int32_t first = ids.find(*id); first >= 0) {
      error(at(p, "id"), fmt::format("duplicate {} id {}", ids.kind, quote(*id)))
          .notes.push_back(
              fmt::format("first declared at {}", ids.pointers[static_cast<size_t>(first)]));
      continue;
    }
    ids.name_last(*id);
  }
  return a;
}

// --- locks, work loops, timers, devices, interrupts ------------------------------------------

void Checker::lock(const Json& e, const std::string& ptr, size_t i) {
  LockSpec& out = s_.locks[i];
  out.id = locks_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr, {"id", "kind", "protocol", "ceiling"}, "in a lock");
  if (const Json* k = require(e, ptr, "kind")) {
    lock_kinds_[i] = read_enum<LockKind>(
        *k, at(ptr, "kind"),
        {{"mutex", LockKind::mutex}, {"spin", LockKind::spin}, {"rw", LockKind::rw}});
    if (lock_kinds_[i]) out.kind = *lock_kinds_[i];
  }
  bool wants_ceiling = false;  // protocol "ceiling" was written, whether or not it is allowed
  bool mutex = !lock_kinds_[i] || *lock_kinds_[i] == LockKind::mutex;
  if (const Json* p = member(e, "protocol")) {
    std::string pp = at(ptr, "protocol");
    auto protocol = read_enum<LockProtocol>(*p, pp,
                                            {{"xnu", LockProtocol::xnu},
                                             {"none", LockProtocol::none},
                                             {"inherit", LockProtocol::inherit},
                                             {"ceiling", LockProtocol::ceiling}});
    if (!mutex)
      error(pp, fmt::format("only a mutex takes a protocol (this lock's kind is \"{}\")",
                            *lock_kinds_[i] == LockKind::spin ? "spin" : "rw"));
    else if (protocol)
      out.protocol = *protocol;
    wants_ceiling = protocol && *protocol == LockProtocol::ceiling;
  }
  const Json* c = member(e, "ceiling");
  if (wants_ceiling && mutex && !c)
    error(ptr, "missing required key \"ceiling\": protocol \"ceiling\" needs the ceiling priority");
  else if (c && !wants_ceiling)
    error(at(ptr, "ceiling"), "only allowed with \"protocol\": \"ceiling\"");
  else if (c)
    out.ceiling = read_priority(*c, at(ptr, "ceiling"));
}

void Checker::workloop(const Json& e, const std::string& ptr, size_t i) {
  WorkloopSpec& out = s_.workloops[i];
  out.id = workloops_.names[i];
  out.pointer = ptr;
  Ids& ids = sources_[i];
  if (!e.is_object()) {
    ids.incomplete = true;
    return;
  }
  check_keys(e, ptr, {"id", "priority", "sources"}, "in a work loop");
  out.priority = model::BASEPRI_KERNEL;
  optional_key(e, ptr, "priority", out.priority,
               [&](const Json& v, const std::string& p) { return read_priority(v, p); });
  const Json* srcs = member(e, "sources");
  if (!srcs) return;
  std::string sp = at(ptr, "sources");
  if (!srcs->is_array()) {
    error(sp, fmt::format("must be an array (got {})", got(*srcs)));
    ids.incomplete = true;
    return;
  }
  out.sources.resize(srcs->size());
  for (size_t j = 0; j < srcs->size(); ++j) {
    const Json& s = (*srcs)[j];
    std::string p = at(sp, j);
    EventSourceSpec& src = out.sources[j];
    src.pointer = p;
    ids.add(p);
    if (!s.is_object()) {
      error(p, fmt::format("must be an object (got {})", got(s)));
      ids.incomplete = true;
      continue;
    }
    check_keys(s, p, {"id", "kind", "action", "filter", "accept", "wakeup"}, "in an event source");
    if (const Json* wk = member(s, "wakeup"))
      if (auto r = resolve(*wk, at(p, "wakeup"), events_)) src.wakeup = *r;
    if (const Json* idv = require(s, p, "id")) {
      if (auto id = read_name(*idv, at(p, "id"), "id")) {
        if (int32_t first = ids.find(*id); first >= 0) {
          error(at(p, "id"), fmt::format("duplicate event source id {} in work loop {}", quote(*id),
                                         quote(out.id)))
              .notes.push_back(
                  fmt::format("first declared at {}", ids.pointers[static_cast<size_t>(first)]));
        } else {
          ids.name_last(*id);
          src.id = *id;
        }
      } else {
        ids.incomplete = true;
      }
    } else {
      ids.incomplete = true;
    }
    std::optional<EventSourceKind> kind;
    if (const Json* k = require(s, p, "kind")) {
      kind = read_enum<EventSourceKind>(*k, at(p, "kind"),
                                        {{"interrupt", EventSourceKind::interrupt},
                                         {"filter_interrupt", EventSourceKind::filter_interrupt}});
      if (kind) src.kind = *kind;
    }
    if (const Json* a = require(s, p, "action"))
      if (auto d = read_duration_spec(*a, at(p, "action"))) src.action = *d;
    const Json* filter = member(s, "filter");
    const Json* accept = member(s, "accept");
    bool filtered = kind == EventSourceKind::filter_interrupt;
    if (kind == EventSourceKind::interrupt) {
      // An IOInterruptEventSource has no filter routine.
      if (filter) error(at(p, "filter"), "only a \"filter_interrupt\" source has a filter");
      if (accept) error(at(p, "accept"), "only a \"filter_interrupt\" source has \"accept\"");
    }
    if (filtered && !filter)
      error(p,
            "missing required key \"filter\": a \"filter_interrupt\" source needs the time its "
            "filter routine runs in primary interrupt context");
    if (filter && kind != EventSourceKind::interrupt)
      if (auto d = read_duration_spec(*filter, at(p, "filter"))) src.filter = *d;
    if (accept && kind != EventSourceKind::interrupt) {
      if (accept->is_number() && accept->as_double() >= 0.0 && accept->as_double() <= 1.0)
        src.accept = accept->as_double();
      else
        error(at(p, "accept"), fmt::format("must be a probability from 0 to 1 (got {})",
                                           accept->is_number() ? accept->dump() : got(*accept)));
    }
  }
}

void Checker::timer(const Json& e, const std::string& ptr, size_t i) {
  TimerSpec& out = s_.timers[i];
  out.id = timers_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr, {"id", "workloop", "action"}, "in a timer");
  if (const Json* w = require(e, ptr, "workloop"))
    if (auto r = resolve(*w, at(ptr, "workloop"), workloops_)) out.workloop = *r;
  if (const Json* a = require(e, ptr, "action"))
    if (auto d = read_duration_spec(*a, at(ptr, "action"))) out.action = *d;
}

// A device's "nic": the peer host it talks to, as an index into machine.platform's links (-2 after
// an error). Inline platforms: a link id ("eth0") or {"peer": "server"}, the host at the other
// end of one of the links. A platform file: {"peer": "server"}, a host of the file; SimGrid
// (in a child process) must find a route between the machine and it (docs/platforms.md,
// "Network").
int32_t Checker::nic_peer(const Json& v, const std::string& ptr) {
  PlatformSpec& p = *s_.machine.platform;
  std::vector<LinkSpec>& links = p.links;
  const bool from_file = !p.file.empty();
  std::optional<std::string> link_name, peer;
  if (v.is_object()) {
    check_keys(v, ptr, {"peer"}, "in \"nic\"");
    if (const Json* h = require(v, ptr, "peer")) peer = read_name(*h, at(ptr, "peer"), "host name");
    if (!peer) return -2;
  } else if (from_file) {
    error(ptr, fmt::format("must name the peer host, {{\"peer\": \"...\"}}, with a platform file (got {})", got(v)))
        .notes.push_back("\"nic\": {\"peer\": \"fileserver\"}: a host of the file; its route is the file's (docs/platforms.md, \"Network\")");
    return -2;
  } else {
    link_name = read_text(v, ptr, false);
    if (!link_name) return -2;
  }
  for (size_t k = 0; k < links.size(); ++k)
    if ((link_name && links[k].id == *link_name) || (peer && links[k].peer == *peer)) return static_cast<int32_t>(k);
  if (link_name) {
    std::vector<std::string> names;
    for (const LinkSpec& l : links) names.push_back(quote(l.id));
    error(ptr, fmt::format("unknown link {}", quote(*link_name)))
        .notes.push_back(names.empty() ? std::string("the platform has no link: declare one in machine.platform.links (docs/platforms.md)")
                                       : fmt::format("the platform's links: {}", fmt::join(names, ", ")));
    return -2;
  }
  if (*peer == p.host) {
    error(at(ptr, "peer"), fmt::format("the peer must be another host than the machine {}", quote(p.host)))
        .notes.push_back("a NIC talks to a peer host over the network");
    return -2;
  }
  if (!from_file) {
    std::vector<std::string> names;
    for (const LinkSpec& l : links) names.push_back(quote(l.peer));
    error(at(ptr, "peer"), fmt::format("no link leads to host {}", quote(*peer)))
        .notes.push_back(names.empty() ? std::string("the platform has no link: declare one in machine.platform.links (docs/platforms.md)")
                                       : fmt::format("the links' peers: {}", fmt::join(names, ", ")));
    return -2;
  }
  platform::FileRouteRead r = platform::inspect_platform_route(p.file_path, p.host, *peer);
  if (r.error.empty() && r.route.status == 2) {
    error(at(ptr, "peer"), fmt::format("platform file {} has no host {}", quote(p.file_path), quote(*peer)))
        .notes.push_back(fmt::format("its hosts: {}", r.route.hosts));
    return -2;
  }
  const bool stopped = r.crashed;  // SimGrid 3.32 dies on route_to between unconnected zones
  if (!r.error.empty() && !stopped) {
    error(at(ptr, "peer"), fmt::format("platform file {}: cannot ask SimGrid for the route between {} and {} ({})",
                                       quote(p.file_path), quote(p.host), quote(*peer), r.error))
        .notes.push_back("the SimGrid module is built beside xnusim (build/sim/platform/); set XNUSIM_SIMGRID_MODULE to its path");
    return -2;
  }
  if (stopped || r.route.status != 0) {
    error(at(ptr, "peer"), fmt::format("platform file {} has no route between {} and {}{}", quote(p.file_path), quote(p.host),
                                       quote(*peer),
                                       stopped ? " (SimGrid crashed looking for it)" : ""))
        .notes.push_back(fmt::format("declare one in the file: <route src=\"{}\" dst=\"{}\"><link_ctn id=\"...\" /></route>, or a <zoneRoute> between their zones (docs/platforms.md, \"Network\")",
                                     p.host, *peer));
    return -2;
  }
  links.push_back(LinkSpec{"", *peer, r.route.bandwidth, Duration{static_cast<int64_t>(std::llround(r.route.latency * 1e9))}});
  return static_cast<int32_t>(links.size() - 1);
}

void Checker::device(const Json& e, const std::string& ptr, size_t i) {
  DeviceSpec& out = s_.devices[i];
  out.id = devices_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) {
    device_ref_error_[i] = true;
    return;
  }
  check_keys(e, ptr, {"id", "provider", "workloop", "service", "path", "disk", "nic"}, "in a device");
  if (const Json* nk = member(e, "nic")) {
    std::string np = at(ptr, "nic");
    out.nic = -2;  // given but not (yet) resolved
    if (member(e, "disk")) {
      error(np, "a device is either a disk's or a NIC, not both")
          .notes.push_back("declare two devices, one with \"disk\" and one with \"nic\"");
    } else if (!s_.machine.platform) {
      if (!platform_refused_)
        error(np, "needs a platform: the NIC sends on one of machine.platform's links")
            .notes.push_back("add \"platform\": {\"pstates\": [...], \"links\": [{\"id\": \"eth0\", \"peer\": \"server\", \"bandwidth\": \"125MBps\", \"latency\": \"50us\"}]} to \"machine\" (docs/platforms.md)");
    } else {
      out.nic = nic_peer(*nk, np);
    }
  }
  if (const Json* dk = member(e, "disk")) {
    std::string dp = at(ptr, "disk");
    out.disk = -2;  // given but not (yet) resolved: no second error on the device's io ops
    if (!s_.machine.platform) {
      if (!platform_refused_)
        error(dp, "needs a platform: the disk is one of machine.platform's disks")
            .notes.push_back("add \"platform\": {\"pstates\": [...], \"disks\": [{\"id\": \"d0\", \"read_bw\": 1e8, \"write_bw\": 4e7}]} to \"machine\" (docs/platforms.md)");
    } else if (auto name = read_text(*dk, dp, false)) {
      const std::vector<DiskSpec>& disks = s_.machine.platform->disks;
      for (size_t k = 0; k < disks.size(); ++k)
        if (disks[k].id == *name) out.disk = static_cast<int32_t>(k);
      if (out.disk == -2) {
        std::vector<std::string> names;
        for (const DiskSpec& d : disks) names.push_back(quote(d.id));
        error(dp, fmt::format("unknown disk {}", quote(*name)))
            .notes.push_back(names.empty() ? std::string("the platform host has no disk: declare one in machine.platform.disks (docs/platforms.md)")
                                           : fmt::format("the platform host's disks: {}", fmt::join(names, ", ")));
      }
    }
  }
  if (const Json* p = member(e, "provider")) {
    if (auto r = resolve(*p, at(ptr, "provider"), devices_))
      out.provider = *r;
    else
      device_ref_error_[i] = true;
  }
  if (const Json* w = member(e, "workloop")) {
    if (auto r = resolve(*w, at(ptr, "workloop"), workloops_))
      out.workloop = *r;
    else
      device_ref_error_[i] = true;
  }
  // With a disk or a NIC, "service" is optional (zero): sized transfers take SimGrid's time.
  if (const Json* s = member(e, "disk") || member(e, "nic") ? member(e, "service") : require(e, ptr, "service"))
    if (auto d = read_duration_spec(*s, at(ptr, "service"))) out.service = *d;
  if (const Json* p = member(e, "path"))
    if (auto path = read_enum<bool>(*p, at(ptr, "path"), {{"workloop", false}, {"direct", true}}))
      out.direct = *path;
}

// Provider chains must be acyclic, and every device must reach a work loop (its own or the
// nearest provider's) because its I/O completes there.
void Checker::check_device_graph() {
  const std::vector<DeviceSpec>& ds = s_.devices;
  size_t n = ds.size();
  // Each device has at most one provider, so following providers from every device in turn,
  // never re-walking a device already settled, finds every cycle in linear time.
  enum : uint8_t { unvisited, on_path, settled };
  std::vector<uint8_t> state(n, unvisited);
  std::vector<bool> in_cycle(n, false);
  std::vector<std::pair<size_t, std::vector<size_t>>> cycles;  // (smallest index, chain from it)
  std::vector<size_t> path;
  for (size_t i = 0; i < n; ++i) {
    if (state[i] != unvisited) continue;
    path.clear();
    int32_t cur = static_cast<int32_t>(i);
    while (cur >= 0 && state[static_cast<size_t>(cur)] == unvisited) {
      state[static_cast<size_t>(cur)] = on_path;
      path.push_back(static_cast<size_t>(cur));
      cur = ds[static_cast<size_t>(cur)].provider;
    }
    if (cur >= 0 && state[static_cast<size_t>(cur)] == on_path) {
      auto from = std::find(path.begin(), path.end(), static_cast<size_t>(cur));
      std::vector<size_t> cycle(from, path.end());
      for (size_t c : cycle) in_cycle[c] = true;
      auto smallest = std::min_element(cycle.begin(), cycle.end());
      std::rotate(cycle.begin(), smallest, cycle.end());
      cycles.emplace_back(cycle.front(), std::move(cycle));
    }
    for (size_t p : path) state[p] = settled;
  }
  std::sort(cycles.begin(), cycles.end());
  for (const auto& [first, chain] : cycles) {
    std::vector<std::string> names;
    for (size_t c : chain) names.push_back(ds[c].id);
    names.push_back(ds[first].id);
    error(at(ds[first].pointer, "provider"),
          fmt::format("device providers form a cycle: {}", join(names, " -> ")));
  }
  // Whether each device reaches a work loop: memoised along each walk, so linear as well.
  enum : uint8_t { unknown, skip, has_workloop, missing };
  std::vector<uint8_t> reach(n, unknown);
  for (size_t i = 0; i < n; ++i) {
    path.clear();
    size_t cur = i;
    uint8_t result = unknown;
    while (result == unknown) {
      if (reach[cur] != unknown) {
        result = reach[cur];
      } else if (in_cycle[cur] || device_ref_error_[cur]) {
        result = skip;  // already reported
      } else if (ds[cur].workloop >= 0) {
        result = has_workloop;
      } else if (ds[cur].provider < 0) {
        result = missing;
      } else {
        path.push_back(cur);
        cur = static_cast<size_t>(ds[cur].provider);
      }
    }
    reach[cur] = result;
    for (size_t p : path) reach[p] = result;
    if (result != missing) continue;
    error(ds[i].pointer, fmt::format("device {} has no work loop: give it \"workloop\" or a "
                                     "\"provider\" that has one",
                                     quote(ds[i].id)));
  }
}

void Checker::interrupt(const Json& e, const std::string& ptr, size_t i) {
  InterruptSpec& out = s_.interrupts[i];
  out.id = interrupts_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr, {"id", "cpu", "arrival", "handler", "source"}, "in an interrupt");
  optional_key(e, ptr, "cpu", out.cpu,
               [&](const Json& v, const std::string& p) { return read_cpu(v, p); });
  if (const Json* a = require(e, ptr, "arrival")) arrival(*a, at(ptr, "arrival"), out.arrival);
  if (const Json* h = require(e, ptr, "handler")) {
    if (h->is_array())
      handler_program(*h, at(ptr, "handler"), out);
    else if (auto d = read_duration_spec(*h, at(ptr, "handler")))
      out.handler = *d;
  }
  if (const Json* s = member(e, "source")) {
    std::string sp = at(ptr, "source");
    auto text = read_string(*s, sp);
    if (!text) return;
    size_t dot = text->find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == text->size() ||
        text->find('.', dot + 1) != std::string::npos) {
      error(sp,
            fmt::format("must be \"<work loop>.<event source>\", e.g. \"disk_wl.intr\" (got {})",
                        quote(*text)));
      return;
    }
    std::string wl_name = text->substr(0, dot);
    std::string src_name = text->substr(dot + 1);
    auto wl = resolve_name(wl_name, sp, workloops_);
    if (!wl) return;
    const Ids& srcs = sources_[static_cast<size_t>(*wl)];
    int32_t si = srcs.find(src_name);
    if (si < 0) {
      if (srcs.incomplete) return;
      const std::vector<std::string>& declared = srcs.declared();
      Diagnostic& d = error(sp, fmt::format("work loop {} has no event source {}",
                                            quote(wl_name), quote(src_name)));
      std::string near = suggest(src_name, declared);
      if (!near.empty()) d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
      d.notes.push_back(declared.empty() ? std::string("it has no \"sources\"")
                                         : fmt::format("its sources: {}", join(declared)));
      return;
    }
    out.workloop = *wl;
    out.source = si;
    // A handler program ends with the filter's time as a fixed `run` (the handler's ops are
    // fixed too), so a random filter cannot follow one.
    const EventSourceSpec& src = s_.workloops[static_cast<size_t>(*wl)].sources[static_cast<size_t>(si)];
    if (!out.handler_program.empty() && src.filter.kind != model::DurationSpec::Kind::fixed)
      error(at(ptr, "handler"),
            fmt::format("a handler given as ops cannot deliver to {}: its \"filter\" is random",
                        quote(*text)))
          .notes.push_back("give that source a fixed \"filter\" duration, or give this interrupt "
                           "one \"handler\" duration (fixed or random)");
  }
}

// "handler" as ops: a primary interrupt handler's program (interrupts are off in it). Only `run`
// with a fixed duration, and `lock` / `unlock` of spin locks (IOSimpleLockLock and
// IOSimpleLockUnlock in the handler), each lock released before the handler returns.
void Checker::handler_program(const Json& v, const std::string& ptr, InterruptSpec& out) {
  OpsSummary sum;
  ThreadScope scope;
  size_t errors_before = diag_.count();
  out.handler_program = ops(v, ptr, scope, kMaxLoopDepth, sum);
  if (diag_.count() != errors_before) return;
  std::vector<int32_t> held;
  for (const Op& op : out.handler_program) {
    const std::string& p = op.pointer;
    switch (op.kind) {
      case OpKind::run:
        if (op.duration.kind != DurationSpec::Kind::fixed)
          error(at(p, "for"), "a handler's run takes a fixed duration (not a random one)");
        continue;
      case OpKind::lock:
      case OpKind::unlock: {
        // An unresolved lock (an error already, or "locks" itself is malformed) has no kind.
        if (op.ref < 0 || static_cast<size_t>(op.ref) >= lock_kinds_.size() || !lock_kinds_[static_cast<size_t>(op.ref)])
          continue;
        const std::string& name = locks_.names[static_cast<size_t>(op.ref)];
        if (lock_kinds_[static_cast<size_t>(op.ref)] != LockKind::spin) {
          error(at(p, "lock"), fmt::format("an interrupt handler may take only spin locks (lock {} is a{})",
                                           quote(name),
                                           lock_kinds_[static_cast<size_t>(op.ref)] == LockKind::mutex ? " mutex"
                                                                                                       : "n rw lock"))
              .notes.push_back("primary interrupt context cannot block: use an IOSimpleLock");
          continue;
        }
        if (op.disable_interrupts) {
          error(at(p, "disable_interrupts"), "interrupts are already off in a primary interrupt handler");
          continue;
        }
        auto it = std::find(held.begin(), held.end(), op.ref);
        if (op.kind == OpKind::lock && it != held.end())
          error(p, fmt::format("the handler already holds spin lock {} (taking it again spins for ever)", quote(name)));
        else if (op.kind == OpKind::unlock && it == held.end())
          error(p, fmt::format("the handler does not hold spin lock {} here", quote(name)));
        else if (op.kind == OpKind::lock)
          held.push_back(op.ref);
        else
          held.erase(it);
        continue;
      }
      default:
        error(at(p, "op"), fmt::format("an interrupt handler's ops are run, lock and unlock (got {})",
                                       quote(model::to_string(op.kind))));
    }
  }
  for (int32_t l : held)
    error(ptr, fmt::format("the handler returns holding spin lock {}; add {{\"op\": \"unlock\", \"lock\": {}}}",
                           quote(locks_.names[static_cast<size_t>(l)]), quote(locks_.names[static_cast<size_t>(l)])));
}

bool Checker::arrival(const Json& a, const std::string& ptr, ArrivalSpec& out) {
  if (!require_object(a, ptr)) return false;
  if (member(a, "packets")) return packets_arrival(a, ptr, out);
  check_keys(a, ptr, {"periodic", "jitter", "poisson", "at"}, "in \"arrival\"");
  std::vector<std::string> kinds;
  for (const char* k : {"periodic", "poisson", "at"})
    if (a.contains(k)) kinds.emplace_back(k);
  if (kinds.size() != 1) {
    if (kinds.empty())
      error(ptr, "needs one of \"periodic\", \"poisson\" or \"at\"")
          .notes.push_back(
              "e.g. {\"periodic\": \"1ms\"}, {\"poisson\": \"2000/s\"} or {\"at\": [\"5ms\"]}");
    else
      error(ptr, fmt::format("give only one of \"periodic\", \"poisson\" or \"at\" (got {})",
                             one_of(kinds, " and ")));
    return false;
  }
  const Json* jitter = member(a, "jitter");
  if (kinds[0] == "periodic") {
    out.kind = ArrivalSpec::Kind::periodic;
    auto period = read_duration(*a.find("periodic"), at(ptr, "periodic"), Sign::positive);
    if (period) out.period = *period;
    if (jitter) {
      auto j = read_duration(*jitter, at(ptr, "jitter"), Sign::non_negative);
      if (j && period && *j >= *period)
        error(at(ptr, "jitter"), fmt::format("must be less than the period {} (got {})",
                                             written(*a.find("periodic")), written(*jitter)));
      else if (j)
        out.jitter = *j;
    }
    return true;
  }
  if (jitter) error(at(ptr, "jitter"), "only applies to \"periodic\" arrivals");
  if (kinds[0] == "poisson") {
    out.kind = ArrivalSpec::Kind::poisson;
    std::string pp = at(ptr, "poisson");
    const Json& r = *a.find("poisson");
    if (!r.is_string()) {
      error(pp, fmt::format("must be a rate such as \"2000/s\" (got {})", got(r)));
      return false;
    }
    core::ParsedDuration mean = core::parse_rate(r.str());
    if (!mean.value) {
      error(pp, mean.error);
      return false;
    }
    out.mean = *mean.value;
    return true;
  }
  out.kind = ArrivalSpec::Kind::at;
  std::string ap = at(ptr, "at");
  const Json& times = *a.find("at");
  if (!times.is_array()) {
    error(ap,
          fmt::format("must be an array of times such as [\"1ms\", \"5ms\"] (got {})", got(times)));
    return false;
  }
  size_t last = 0;  // index of the last valid time
  for (size_t k = 0; k < times.size(); ++k) {
    auto t = read_duration(times[k], at(ap, k), Sign::non_negative);
    if (!t) continue;
    if (!out.times.empty() && *t < out.times.back())
      error(at(ap, k), fmt::format("must not be earlier than the time before it (got {} after {})",
                                   written(times[k]), written(times[last])));
    out.times.push_back(*t);
    last = k;
  }
  return true;
}

// --- threads and their programs ---------------------------------------------------------------

void Checker::thread(const Json& e, const std::string& ptr, size_t i) {
  ThreadSpec& out = s_.threads[i];
  out.id = threads_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr,
             {"id", "task", "kernel", "mode", "priority", "nice", "root", "realtime", "cpu", "start",
              "period", "deadline", "program"},
             "in a thread");
  optional_key(e, ptr, "task", out.task,
               [&](const Json& v, const std::string& p) { return read_name(v, p, "task name"); });
  optional_key(e, ptr, "kernel", out.kernel,
               [&](const Json& v, const std::string& p) { return read_bool(v, p); });

  std::optional<ThreadMode> mode = out.kernel ? ThreadMode::fixed : ThreadMode::timeshare;
  if (const Json* m = member(e, "mode"))
    mode = read_enum<ThreadMode>(*m, at(ptr, "mode"),
                                 {{"timeshare", ThreadMode::timeshare},
                                  {"fixed", ThreadMode::fixed},
                                  {"realtime", ThreadMode::realtime}});
  if (mode) out.mode = *mode;

  out.priority = out.kernel ? model::BASEPRI_KERNEL : model::BASEPRI_DEFAULT;
  const Json* pri = member(e, "priority");
  const Json* rt = member(e, "realtime");
  if (mode == ThreadMode::realtime) {
    // xnu runs every time-constraint thread at BASEPRI_RTQUEUES; there is no priority to give.
    out.priority = model::BASEPRI_RTQUEUES;
    if (pri)
      error(
          at(ptr, "priority"),
          fmt::format("not allowed with \"mode\": \"realtime\" (xnu runs every real-time thread at "
                      "BASEPRI_RTQUEUES, {})",
                      model::BASEPRI_RTQUEUES));
    if (!rt)
      error(ptr,
            "missing required key \"realtime\": mode \"realtime\" needs "
            "{\"computation\", \"constraint\"} (THREAD_TIME_CONSTRAINT_POLICY)");
    else
      out.realtime = realtime(*rt, at(ptr, "realtime"), true);
  } else {
    if (pri)
      if (auto p = read_priority(*pri, at(ptr, "priority"))) out.priority = *p;
    if (rt && mode)
      error(at(ptr, "realtime"), fmt::format("only allowed with \"mode\": \"realtime\" (this "
                                             "thread's mode is \"{}\")",
                                             model::to_string(*mode)));
  }

  if (const Json* n = member(e, "nice")) {
    if (auto v = read_int(*n, at(ptr, "nice"), kMinNice, kMaxNice,
                          fmt::format("an integer from {} to {}", kMinNice, kMaxNice))) {
      if (out.kernel)
        // xnu: task_importance refuses kernel_task (KERN_INVALID_ARGUMENT), so renicing a
        // kernel thread has no effect; a scenario that asks for it is wrong.
        error(at(ptr, "nice"), "not allowed on a kernel thread (nice is a property of a user "
                               "process; xnu refuses it for kernel_task)")
            .notes.push_back("remove \"nice\", or make the thread a user thread (\"kernel\": false)");
      else
        out.nice = static_cast<int>(*v);
    }
  }
  if (const Json* r = member(e, "root")) {
    if (auto v = read_bool(*r, at(ptr, "root"))) {
      if (out.kernel)
        error(at(ptr, "root"), "not allowed on a kernel thread (kernel threads belong to kernel_task, "
                               "which has no user credentials)")
            .notes.push_back("remove \"root\", or make the thread a user thread (\"kernel\": false)");
      else
        out.root = *v;
    }
  }
  if (const Json* c = member(e, "cpu")) out.cpu = read_cpu(*c, at(ptr, "cpu"));
  const Json* st = member(e, "start");
  if (st && st->is_string() && st->str() == "spawned") {
    out.spawned = true;  // created at run time by a create_thread op (check_spawns)
  } else if (st && st->is_string() && !st->str().empty() && std::isalpha(static_cast<unsigned char>(st->str()[0]))) {
    // A word, not a number with a unit: the duration reader's message would not name "spawned".
    Diagnostic& d = error(at(ptr, "start"), fmt::format("must be a duration such as \"5ms\", or \"spawned\" "
                                                        "(created by a create_thread op) (got {})",
                                                        written(*st)));
    if (!suggest(st->str(), {"spawned"}).empty()) d.notes.push_back("did you mean \"spawned\"?");
  } else
    optional_key(e, ptr, "start", out.start, [&](const Json& v, const std::string& p) {
      return read_duration(v, p, Sign::non_negative);
    });
  const Json* period = member(e, "period");
  if (period) out.period = read_duration(*period, at(ptr, "period"), Sign::positive);
  if (const Json* d = member(e, "deadline")) {
    out.deadline = read_duration(*d, at(ptr, "deadline"), Sign::positive);
    out.deadline_given = true;
  } else {
    out.deadline = out.period;
  }

  if (const Json* prog = require(e, ptr, "program")) {
    // A wrong "period" still counts as given, so its ops are not blamed for it.
    ThreadScope scope{period != nullptr, static_cast<int32_t>(i)};
    OpsSummary sum;
    out.program = ops(*prog, at(ptr, "program"), scope, 0, sum);
  }
}

// nice and root are per process (p_nice and the credentials of the task's proc): every user
// thread of one task must have the same, an absent "nice" counting as 0, an absent "root" false. Kernel threads belong to kernel_task whatever their
// "task" name and are not compared.
void Checker::check_task_nice() {
  std::map<std::string, size_t> first_of_task;  // task -> its first user thread
  for (size_t i = 0; i < s_.threads.size(); ++i) {
    const ThreadSpec& t = s_.threads[i];
    if (t.kernel) continue;
    auto [it, inserted] = first_of_task.emplace(t.task, i);
    const ThreadSpec& first = s_.threads[it->second];
    if (inserted || first.nice.value_or(0) == t.nice.value_or(0)) continue;
    auto shown = [](const ThreadSpec& x) {
      return x.nice ? std::to_string(*x.nice) : std::string("0 (no \"nice\")");
    };
    error(t.nice ? at(t.pointer, "nice") : t.pointer,
          fmt::format("nice {} differs from nice {} of thread {} ({}) in the same task {}", shown(t),
                      shown(first), quote(first.id), first.pointer, quote(t.task)))
        .notes.push_back(
            "nice belongs to the process: give every thread of the task the same \"nice\", or "
            "put the threads in different tasks (\"task\")");
  }
  for (size_t i = 0; i < s_.threads.size(); ++i) {
    const ThreadSpec& t = s_.threads[i];
    if (t.kernel) continue;
    const ThreadSpec& first = s_.threads[first_of_task.at(t.task)];
    if (first.root == t.root) continue;
    error(t.root ? at(t.pointer, "root") : t.pointer,
          fmt::format("root {} differs from root {} of thread {} ({}) in the same task {}", t.root, first.root,
                      quote(first.id), first.pointer, quote(t.task)))
        .notes.push_back(
            "the credentials belong to the process: give every thread of the task the same \"root\", or "
            "put the threads in different tasks (\"task\")");
  }
}

// A task_policy op's `task` must name the task of a user thread, or kernel_task (which xnu
// refuses at run time).
void Checker::check_task_refs() {
  if (threads_.incomplete) return;
  std::set<std::string> tasks{"kernel_task"};
  for (const ThreadSpec& t : s_.threads)
    if (!t.kernel) tasks.insert(t.task);
  for (const auto& [name, pointer] : task_refs_) {
    if (tasks.count(name)) continue;
    std::string declared;
    for (const std::string& n : tasks) declared += (declared.empty() ? "" : ", ") + n;
    error(pointer, fmt::format("task {} has no user thread", quote(name)))
        .notes.push_back(fmt::format("tasks: {}", declared));
  }
}

// THREAD_TIME_CONSTRAINT_POLICY parameters. With `admission`, the checks thread_policy_set
// makes (xnu-facts 4.1) are applied, since a thread declared real-time that xnu would refuse is
// a scenario error; a later set_mode is runtime behaviour and is only type-checked.
std::optional<RealtimeParams> Checker::realtime(const Json& v, const std::string& ptr,
                                                bool admission) {
  if (!require_object(v, ptr)) return std::nullopt;
  check_keys(v, ptr, {"period", "computation", "constraint", "preemptible"}, "in \"realtime\"");
  RealtimeParams rp;
  bool ok = true;
  Sign sign = admission ? Sign::positive : Sign::non_negative;
  if (const Json* p = member(v, "period")) {
    if (auto d = read_duration(*p, at(ptr, "period"), Sign::non_negative))
      rp.period = *d;
    else
      ok = false;
  }
  const Json* comp = require(v, ptr, "computation");
  const Json* cons = require(v, ptr, "constraint");
  std::optional<Duration> computation, constraint;
  if (comp) computation = read_duration(*comp, at(ptr, "computation"), sign);
  if (cons) constraint = read_duration(*cons, at(ptr, "constraint"), sign);
  if (!computation || !constraint) ok = false;
  if (const Json* pre = member(v, "preemptible")) {
    if (auto b = read_bool(*pre, at(ptr, "preemptible")))
      rp.preemptible = *b;
    else
      ok = false;
  }
  if (computation) rp.computation = *computation;
  if (constraint) rp.constraint = *constraint;
  if (admission && computation) {
    std::string cp = at(ptr, "computation");
    std::string note =
        fmt::format("xnu accepts {} <= computation <= {} and constraint >= computation",
                    core::format_duration(kMinRtQuantum), core::format_duration(kMaxRtQuantum));
    if (*computation > kMaxRtQuantum) {
      error(cp, fmt::format("{} exceeds max_rt_quantum ({}); {}", comp->str(),
                            core::format_duration(kMaxRtQuantum), kRtRejected))
          .notes.push_back(note);
      ok = false;
    } else if (*computation < kMinRtQuantum) {
      error(cp, fmt::format("{} is below min_rt_quantum ({}); {}", comp->str(),
                            core::format_duration(kMinRtQuantum), kRtRejected))
          .notes.push_back(note);
      ok = false;
    }
    if (constraint && *constraint < *computation) {
      error(at(ptr, "constraint"),
            fmt::format("{} is less than the computation ({}); {}", cons->str(),
                        comp->str(), kRtRejected))
          .notes.push_back(note);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return rp;
}

}  // namespace sim::scenario::load

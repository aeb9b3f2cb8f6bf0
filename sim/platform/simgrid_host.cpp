// The SimGrid module (libxnusim-simgrid.so): the only code linked with SimGrid (3.32 as Debian
// ships it). It builds the host from the platform file, replays a LoadTable on it and reads the
// joules from the host energy plugin. Loaded with dlopen by a child process (simgrid_child.cpp).
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "sim/platform/host.hpp"
#include "sim/platform/pipe_io.hpp"

namespace sim::platform {

namespace {

// The command line an Engine is made with: SimGrid reports only critical errors, and with
// `pin_network` the network model is pinned (docs/platforms.md, "Network"): CM02, whose flows
// take latency + bytes / bandwidth alone and share links max-min, with no cross traffic (3.32's
// default, LV08, scales both by empirical factors and charges 5 % of each flow backwards).
struct EngineArgs {
  char name[sizeof "xnusim"] = "xnusim";
  char quiet[sizeof "--log=root.thres:critical"] = "--log=root.thres:critical";
  char model[sizeof "--cfg=network/model:CM02"] = "--cfg=network/model:CM02";
  char cross[sizeof "--cfg=network/crosstraffic:0"] = "--cfg=network/crosstraffic:0";
  char* argv[5] = {name, quiet, model, cross, nullptr};
  int argc;
  explicit EngineArgs(bool pin_network) : argc(pin_network ? 4 : 2) {
    if (!pin_network) argv[2] = nullptr;
  }
  EngineArgs(const EngineArgs&) = delete;  // argv points into the object itself
  EngineArgs& operator=(const EngineArgs&) = delete;
};

// One Engine, the host, and one actor that lives through the table: for each pstate, for each
// number k of busy cores, k execs of `speed x duration` flops each (one core each) or, for k = 0,
// a sleep of that duration.
double replay(const HostSpec& spec, const LoadTable& table, const char* file) {
  EngineArgs args(false);
  simgrid::s4u::Engine e(&args.argc, args.argv);
  sg_host_energy_plugin_init();
  e.load_platform(file);
  simgrid::s4u::Host* host = simgrid::s4u::Host::by_name(spec.name);
  simgrid::s4u::Actor::create("load", host, [&table, host] {
    for (size_t p = 0; p < table.ns.size(); ++p) {
      host->set_pstate(p);
      for (size_t k = 0; k < table.ns[p].size(); ++k) {
        int64_t ns = table.ns[p][k];
        if (ns <= 0) continue;
        double seconds = static_cast<double>(ns) / 1e9;
        if (k == 0) {
          simgrid::s4u::this_actor::sleep_for(seconds);
          continue;
        }
        std::vector<simgrid::s4u::ExecPtr> execs;
        for (size_t i = 0; i < k; ++i)
          execs.push_back(simgrid::s4u::this_actor::exec_async(host->get_pstate_speed(p) * seconds));
        for (simgrid::s4u::ExecPtr& x : execs) x->wait();
      }
    }
  });
  e.run();
  return sg_host_get_consumed_energy(host);
}

// SimGrid's time (a double, seconds) as the first nanosecond at or after it: never early. The
// thousandth of a nanosecond taken off absorbs the rounding of the double (1 ms is
// 0.0009999999999999998 s), far below any time SimGrid's models distinguish.
int64_t ceil_ns(double seconds) { return static_cast<int64_t>(std::ceil(seconds * 1e9 - 1e-3)); }

// A ten-thousandth of a nanosecond: an advance waits that much past the instant it is asked
// for so that an activity ending exactly at it (up to the double's rounding) is reported then.
constexpr double kSlack = 1e-13;

// The earliest instant any pending transfer could end: each one's bytes left over the bandwidth
// it can never exceed, from now (a transfer still in its latency is later still). SimGrid's
// solver may end a shared transfer a few nanoseconds before the fluid formula (docs/platforms.md,
// "Disks"): the margin (a millionth of the time, and 1 us) keeps far clear of that.
int64_t horizon(const std::vector<simgrid::s4u::ActivityPtr>& pending, const std::vector<double>& bounds) {
  if (pending.empty()) return INT64_MAX;
  double soonest = -1;
  for (size_t i = 0; i < pending.size(); ++i) {
    double left = pending[i]->get_remaining() / bounds[i];
    if (soonest < 0 || left < soonest) soonest = left;
  }
  double at = simgrid::s4u::Engine::get_clock() + soonest * (1 - 1e-6);
  return std::max<int64_t>(0, static_cast<int64_t>(std::floor(at * 1e9)) - 1000);
}

// The controller actor on the host: starts the activities the native side asks for and, on
// advance, runs SimGrid to the first completion at or before the instant asked for, or to it.
void controller(simgrid::s4u::Host* host, const std::vector<simgrid::s4u::Disk*>& disks,
                const std::vector<simgrid::s4u::Host*>& peers, const std::vector<double>& route_bw,
                int in_fd, int out_fd, int* status) {
  namespace s4u = simgrid::s4u;
  std::vector<s4u::ActivityPtr> pending;
  std::vector<int64_t> ids;
  std::vector<double> bounds;  // by pending transfer: the bandwidth it can never exceed (bytes/s)
  SessionCommand c;
  while (read_full(in_fd, &c, sizeof c)) {
    if (c.kind == SessionCommand::quit) break;
    if (c.kind == SessionCommand::start_io) {
      double at = static_cast<double>(c.at_ns) / 1e9;
      if (at > s4u::Engine::get_clock()) s4u::this_actor::sleep_until(at);
      s4u::Disk* d = disks.at(static_cast<size_t>(c.disk));
      auto bytes = static_cast<sg_size_t>(c.bytes);
      pending.push_back(c.write ? d->write_async(bytes) : d->read_async(bytes));
      ids.push_back(c.id);
      bounds.push_back(c.write ? d->get_write_bandwidth() : d->get_read_bandwidth());
      continue;
    }
    if (c.kind == SessionCommand::start_send) {
      double at = static_cast<double>(c.at_ns) / 1e9;
      if (at > s4u::Engine::get_clock()) s4u::this_actor::sleep_until(at);
      s4u::Host* from = c.from < 0 ? host : peers.at(static_cast<size_t>(c.from));
      s4u::Host* to = c.to < 0 ? host : peers.at(static_cast<size_t>(c.to));
      pending.push_back(s4u::Comm::sendto_async(from, to, static_cast<uint64_t>(c.bytes)));
      ids.push_back(c.id);
      // The message never goes faster than its route's narrowest link.
      bounds.push_back(route_bw.at(static_cast<size_t>(c.from < 0 ? c.to : c.from)));
      continue;
    }
    SessionReply r;
    r.kind = SessionReply::reached;
    double until = static_cast<double>(c.at_ns) / 1e9 + kSlack;
    double now = s4u::Engine::get_clock();
    if (pending.empty()) {
      if (until > now) s4u::this_actor::sleep_until(until);
    } else {
      ssize_t i = s4u::Activity::wait_any_for(pending, until > now ? until - now : 0.0);
      if (i >= 0) {
        r.kind = SessionReply::completion;
        r.id = ids[static_cast<size_t>(i)];
        r.seconds = s4u::Engine::get_clock();
        r.ns = ceil_ns(r.seconds);
        pending.erase(pending.begin() + i);
        ids.erase(ids.begin() + i);
        bounds.erase(bounds.begin() + i);
      }
    }
    r.horizon_ns = horizon(pending, bounds);
    if (!write_full(out_fd, &r, sizeof r)) break;
  }
  // The run ended with transfers in flight: cancel them (SimGrid objects to a communication
  // dropped while it runs).
  for (s4u::ActivityPtr& a : pending) a->cancel();
  pending.clear();
  *status = 0;
}

}  // namespace

extern "C" int xnusim_simgrid_serve(const HostSpec* spec, const char* platform_file, int in_fd, int out_fd) {
  int status = 1;
  try {
    EngineArgs args(true);
    simgrid::s4u::Engine e(&args.argc, args.argv);
    e.load_platform(platform_file);
    simgrid::s4u::Host* host = simgrid::s4u::Host::by_name(spec->name);
    // Each peer and the bandwidth of the narrowest link of its route (SimGrid's own routing: the
    // inline platform's one link, or the route a platform file declares; the loader checked that
    // there is one).
    std::vector<simgrid::s4u::Host*> peers;
    std::vector<double> route_bw;
    for (const LinkSpec& l : spec->links) {
      simgrid::s4u::Host* peer = simgrid::s4u::Host::by_name(l.peer);
      std::vector<simgrid::s4u::Link*> route;
      double latency = 0;
      host->route_to(peer, route, &latency);
      if (route.empty()) return 1;
      double bw = route.front()->get_bandwidth();
      for (const simgrid::s4u::Link* k : route) bw = std::min(bw, k->get_bandwidth());
      peers.push_back(peer);
      route_bw.push_back(bw);
    }
    std::vector<simgrid::s4u::Disk*> disks;
    for (const DiskSpec& want : spec->disks) {
      simgrid::s4u::Disk* found = nullptr;
      for (simgrid::s4u::Disk* d : host->get_disks())
        if (d->get_name() == want.name) found = d;
      if (!found) return 1;
      disks.push_back(found);
    }
    simgrid::s4u::Actor::create("xnusim", host, [&] { controller(host, disks, peers, route_bw, in_fd, out_fd, &status); });
    e.run();
  } catch (const std::exception&) {
    status = 1;
  }
  return status;
}

extern "C" void xnusim_simgrid_inspect(const char* platform_file, const char* host_name, FileHost* out) {
  try {
    EngineArgs args(false);
    simgrid::s4u::Engine e(&args.argc, args.argv);
    sg_host_energy_plugin_init();
    e.load_platform(platform_file);
    simgrid::s4u::Host* h = e.host_by_name_or_null(host_name);
    if (!h) {
      out->status = 2;
      std::string names;
      for (simgrid::s4u::Host* x : e.get_all_hosts()) names += (names.empty() ? "" : ", ") + x->get_name();
      names.copy(out->hosts, sizeof out->hosts - 1);
      return;
    }
    out->cores = h->get_core_count();
    out->pstates = static_cast<int>(h->get_pstate_count());
    out->pstate = static_cast<int>(h->get_pstate());
    out->has_wattage = h->get_property("wattage_per_state") != nullptr;
    std::string disks;
    for (simgrid::s4u::Disk* d : h->get_disks()) disks += d->get_name() + "\n";
    out->disk_count = static_cast<int>(h->get_disks().size());
    disks.copy(out->disks, sizeof out->disks - 1);
    out->status = 0;
  } catch (const std::exception&) {
    out->status = 1;
  }
}

extern "C" void xnusim_simgrid_route(const char* platform_file, const char* host_name, const char* peer_name,
                                     FileRoute* out) {
  try {
    EngineArgs args(false);
    simgrid::s4u::Engine e(&args.argc, args.argv);
    e.load_platform(platform_file);
    simgrid::s4u::Host* h = e.host_by_name_or_null(host_name);
    simgrid::s4u::Host* peer = e.host_by_name_or_null(peer_name);
    if (!h || !peer) {
      out->status = 2;
      std::string names;
      for (simgrid::s4u::Host* x : e.get_all_hosts()) names += (names.empty() ? "" : ", ") + x->get_name();
      names.copy(out->hosts, sizeof out->hosts - 1);
      return;
    }
    std::vector<simgrid::s4u::Link*> route;
    double latency = 0;
    h->route_to(peer, route, &latency);  // SimGrid 3.32 may also die here: the caller says so
    out->links = static_cast<int>(route.size());
    out->latency = latency;
    out->bandwidth = route.empty() ? 0 : route.front()->get_bandwidth();
    for (const simgrid::s4u::Link* k : route) out->bandwidth = std::min(out->bandwidth, k->get_bandwidth());
    out->status = route.empty() ? 3 : 0;
  } catch (const std::exception&) {
    out->status = 1;
  }
}

extern "C" int xnusim_simgrid_energy(const HostSpec* host, const LoadTable* table, const char* platform_file,
                                     double* joules) {
  try {
    *joules = replay(*host, *table, platform_file);
    return 0;
  } catch (const std::exception&) {
    return 1;
  }
}

}  // namespace sim::platform

// The only file that runs SimGrid: builds the host from the platform, replays a LoadTable on
// it and reads the joules from the host energy plugin (SimGrid 3.32 as Debian ships it).
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/platform/energy.hpp"

namespace sim::platform {

std::string platform_xml(const HostSpec& host) {
  std::string speeds, watts;
  for (size_t i = 0; i < host.pstates.size(); ++i) {
    const Pstate& p = host.pstates[i];
    if (i) {
      speeds += ",";
      watts += ",";
    }
    speeds += fmt::format("{:.17g}f", p.speed);
    watts += fmt::format("{:.17g}:{:.17g}:{:.17g}", p.idle_w, p.epsilon_w, p.all_cores_w);
  }
  return fmt::format(
      "<?xml version='1.0'?>\n"
      "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
      "<platform version=\"4.1\">\n"
      "  <zone id=\"world\" routing=\"Full\">\n"
      "    <host id=\"{}\" speed=\"{}\" pstate=\"{}\" core=\"{}\">\n"
      "      <prop id=\"wattage_per_state\" value=\"{}\" />\n"
      "      <prop id=\"wattage_off\" value=\"{:.17g}\" />\n"
      "    </host>\n"
      "  </zone>\n"
      "</platform>\n",
      host.name, speeds, host.pstate, host.cores, watts, host.off_w);
}

namespace {

// In the child: one Engine, the host, one actor that lives through the table. Returns joules.
double replay(const HostSpec& spec, const LoadTable& table, const std::string& file) {
  int argc = 2;
  char arg0[] = "xnusim";
  char arg1[] = "--log=root.thres:critical";
  char* argv[] = {arg0, arg1, nullptr};
  simgrid::s4u::Engine e(&argc, argv);
  sg_host_energy_plugin_init();
  e.load_platform(file);
  simgrid::s4u::Host* host = simgrid::s4u::Host::by_name(spec.name);
  simgrid::s4u::Actor::create("load", host, [&spec, &table, host] {
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
          execs.push_back(simgrid::s4u::this_actor::exec_async(spec.pstates[p].speed * seconds));
        for (simgrid::s4u::ExecPtr& x : execs) x->wait();
      }
    }
  });
  e.run();
  return sg_host_get_consumed_energy(host);
}

}  // namespace

EnergyReport energy_from_simgrid(const HostSpec& host, const LoadTable& table) {
  EnergyReport r;
  char path[] = "/tmp/xnusim-platform-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    r.error = fmt::format("cannot write the platform file: {}", std::strerror(errno));
    return r;
  }
  std::string xml = platform_xml(host);
  bool written = write(fd, xml.data(), xml.size()) == static_cast<ssize_t>(xml.size());
  close(fd);
  int pipe_fds[2];
  if (!written || pipe(pipe_fds) != 0) {
    unlink(path);
    r.error = "cannot prepare the SimGrid run";
    return r;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    double joules = replay(host, table, path);
    ssize_t n = write(pipe_fds[1], &joules, sizeof joules);
    _exit(n == sizeof joules ? 0 : 1);
  }
  close(pipe_fds[1]);
  double joules = 0;
  ssize_t got = pid > 0 ? read(pipe_fds[0], &joules, sizeof joules) : -1;
  close(pipe_fds[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  unlink(path);
  if (got != static_cast<ssize_t>(sizeof joules) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.error = "SimGrid's energy run failed";
    return r;
  }
  r.joules = joules;
  return r;
}

}  // namespace sim::platform

// The platform file, and the child process that runs SimGrid through its module (dlopen).
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "sim/platform/energy.hpp"

#ifndef XNUSIM_SIMGRID_MODULE
#define XNUSIM_SIMGRID_MODULE "libxnusim-simgrid.so"
#endif

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

// The module: $XNUSIM_SIMGRID_MODULE when set, else where the build put it.
const char* module_path() {
  const char* env = std::getenv("XNUSIM_SIMGRID_MODULE");
  return env && *env ? env : XNUSIM_SIMGRID_MODULE;
}

// In the child: 0 and the joules, or an exit code (2 no module, 3 no entry point, 4 SimGrid failed).
int child(const HostSpec& host, const LoadTable& table, const char* file, double* joules) {
  void* m = dlopen(module_path(), RTLD_NOW | RTLD_LOCAL);
  if (!m) return 2;
  using Entry = int (*)(const HostSpec*, const LoadTable*, const char*, double*);
  auto entry = reinterpret_cast<Entry>(dlsym(m, "xnusim_simgrid_energy"));
  if (!entry) return 3;
  return entry(&host, &table, file, joules) == 0 ? 0 : 4;
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
    double joules = 0;
    int code = child(host, table, path, &joules);
    if (code == 0 && write(pipe_fds[1], &joules, sizeof joules) != static_cast<ssize_t>(sizeof joules)) code = 5;
    _exit(code);
  }
  close(pipe_fds[1]);
  double joules = 0;
  ssize_t got = pid > 0 ? read(pipe_fds[0], &joules, sizeof joules) : -1;
  close(pipe_fds[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  unlink(path);
  if (pid < 0) {
    r.error = fmt::format("cannot start the SimGrid process: {}", std::strerror(errno));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != static_cast<ssize_t>(sizeof joules)) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.error = code == 2   ? fmt::format("cannot load the SimGrid module {} (set XNUSIM_SIMGRID_MODULE)", module_path())
              : code == 3 ? fmt::format("{} has no entry point xnusim_simgrid_energy", module_path())
                          : "SimGrid's energy run failed";
  } else {
    r.joules = joules;
  }
  return r;
}

}  // namespace sim::platform

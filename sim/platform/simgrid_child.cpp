// The platform file, and the child process that runs SimGrid through its module (dlopen).
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "sim/platform/energy.hpp"
#include "sim/platform/pipe_io.hpp"

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
  // Peer hosts, their links and the routes (symmetrical) between the host and each peer.
  std::string network;
  for (const LinkSpec& l : host.links)
    network += fmt::format("    <host id=\"{}\" speed=\"1Gf\" />\n", l.peer);
  for (const LinkSpec& l : host.links)
    network += fmt::format("    <link id=\"{}\" bandwidth=\"{:.17g}Bps\" latency=\"{:.17g}s\" />\n", l.name, l.bandwidth,
                           l.latency);
  for (const LinkSpec& l : host.links)
    network += fmt::format("    <route src=\"{}\" dst=\"{}\"><link_ctn id=\"{}\" /></route>\n", host.name, l.peer, l.name);
  std::string disks;
  for (const DiskSpec& d : host.disks)
    disks += fmt::format("      <disk id=\"{}\" read_bw=\"{:.17g}Bps\" write_bw=\"{:.17g}Bps\" />\n", d.name, d.read_bw,
                         d.write_bw);
  return fmt::format(
      "<?xml version='1.0'?>\n"
      "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
      "<platform version=\"4.1\">\n"
      "  <zone id=\"world\" routing=\"Full\">\n"
      "    <host id=\"{}\" speed=\"{}\" pstate=\"{}\" core=\"{}\">\n"
      "      <prop id=\"wattage_per_state\" value=\"{}\" />\n"
      "      <prop id=\"wattage_off\" value=\"{:.17g}\" />\n"
      "{}"
      "    </host>\n"
      "{}"
      "  </zone>\n"
      "</platform>\n",
      host.name, speeds, host.pstate, host.cores, watts, host.off_w, disks, network);
}

const char* simgrid_module_path() {
  const char* env = std::getenv("XNUSIM_SIMGRID_MODULE");
  return env && *env ? env : XNUSIM_SIMGRID_MODULE;
}

std::string write_platform_file(const HostSpec& host, std::string& error) {
  char path[] = "/tmp/xnusim-platform-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    error = fmt::format("cannot write the platform file: {}", std::strerror(errno));
    return "";
  }
  std::string xml = platform_xml(host);
  bool written = write(fd, xml.data(), xml.size()) == static_cast<ssize_t>(xml.size());
  close(fd);
  if (!written) {
    unlink(path);
    error = "cannot write the platform file";
    return "";
  }
  return path;
}

// GCC 12 takes the whole-struct write below for a read of its first member (a false positive
// of -Wstringop-overread through inlining, as the ones meson.build lists for libstdc++).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"

namespace {

// Runs `work` in a child process that has loaded the module, and copies `size` bytes it fills
// back. Returns "" or what went wrong.
// With `quiet`, the child's error output goes to /dev/null (SimGrid's report of its own crash).
// `crashed` (when given) is set when the child died without an answer (by a signal, or an exit
// that is none of the module's codes): SimGrid itself failed on the question.
template <typename Work>
std::string in_child(void* result, size_t size, Work work, bool quiet = false, bool* crashed = nullptr) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "cannot prepare the SimGrid run";
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    default_crash_signals();
    close(pipe_fds[0]);
    if (quiet) {
      int null_fd = open("/dev/null", O_WRONLY);
      if (null_fd >= 0) dup2(null_fd, 2);
    }
    int code = 2;
    if (void* m = dlopen(simgrid_module_path(), RTLD_NOW | RTLD_LOCAL)) code = work(m);
    if (code == 0 && write(pipe_fds[1], result, size) != static_cast<ssize_t>(size)) code = 5;
    _exit(code);
  }
  close(pipe_fds[1]);
  ssize_t got = pid > 0 ? read(pipe_fds[0], result, size) : -1;
  close(pipe_fds[0]);
  int status = 0;
  if (pid < 0) return fmt::format("cannot start the SimGrid process: {}", std::strerror(errno));
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == static_cast<ssize_t>(size)) return "";
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 2) return fmt::format("cannot load the SimGrid module {} (set XNUSIM_SIMGRID_MODULE)", simgrid_module_path());
  if (code == 3) return fmt::format("{} has no entry point for xnusim", simgrid_module_path());
  if (crashed) *crashed = true;
  if (WIFSIGNALED(status)) return fmt::format("SimGrid crashed ({})", strsignal(WTERMSIG(status)));
  return "SimGrid stopped without an answer";
}

}  // namespace

EnergyReport energy_from_simgrid(const HostSpec& host, const LoadTable& table) {
  EnergyReport r;
  std::string file = host.file;
  if (file.empty()) {
    file = write_platform_file(host, r.error);
    if (file.empty()) return r;
  }
  double joules = 0;
  r.error = in_child(&joules, sizeof joules, [&](void* m) {
    using Entry = int (*)(const HostSpec*, const LoadTable*, const char*, double*);
    auto entry = reinterpret_cast<Entry>(dlsym(m, "xnusim_simgrid_energy"));
    if (!entry) return 3;
    return entry(&host, &table, file.c_str(), &joules) == 0 ? 0 : 4;
  });
  if (host.file.empty()) unlink(file.c_str());
  if (r.error.empty()) r.joules = joules;
  return r;
}

FileHostRead inspect_platform_file(const std::string& path, const std::string& host) {
  FileHostRead r;
  r.error = in_child(&r.host, sizeof r.host, [&](void* m) {
    using Entry = void (*)(const char*, const char*, FileHost*);
    auto entry = reinterpret_cast<Entry>(dlsym(m, "xnusim_simgrid_inspect"));
    if (!entry) return 3;
    entry(path.c_str(), host.c_str(), &r.host);
    return 0;
  });
  return r;
}

FileRouteRead inspect_platform_route(const std::string& path, const std::string& host, const std::string& peer) {
  FileRouteRead r;
  r.error = in_child(
      &r.route, sizeof r.route,
      [&](void* m) {
        using Entry = void (*)(const char*, const char*, const char*, FileRoute*);
        auto entry = reinterpret_cast<Entry>(dlsym(m, "xnusim_simgrid_route"));
        if (!entry) return 3;
        entry(path.c_str(), host.c_str(), peer.c_str(), &r.route);
        return 0;
      },
      true, &r.crashed);
  return r;
}

#pragma GCC diagnostic pop

}  // namespace sim::platform

// Running the xnusim binary from tests: exit code, stdout and stderr of one command.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support.hpp"

namespace testing {

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A per-process scratch path under /tmp, distinct for each `name`.
inline std::string temp_path(const std::string& name) {
  return "/tmp/xnusim-test-" + std::to_string(getpid()) + "-" + name;
}

// Writes `text` to a scratch file and returns its path.
inline std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// Runs the binary from the repository root with `args`, capturing stdout and stderr; standard
// input is `input` (a path relative to the repository root, /dev/null by default).
inline CliResult xnusim(const std::string& args, const std::string& input = "/dev/null") {
  static int counter = 0;
  std::string base = temp_path("cli-" + std::to_string(counter++));
  std::string cmd = std::string("cd '") + XNUSIM_SOURCE_DIR + "' && '" + XNUSIM_BINARY + "' " + args + " >" + base +
                    ".out 2>" + base + ".err <'" + input + "'";
  int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

// Runs the binary with `args` followed by shell redirections chosen by the caller (for example
// "2>&-" to close stderr); returns the exit code, or 128 + signal when a signal ended it.
inline int xnusim_status(const std::string& args_and_redirections) {
  std::string cmd = std::string("cd '") + XNUSIM_SOURCE_DIR + "' && '" + XNUSIM_BINARY + "' " + args_and_redirections;
  int status = std::system(cmd.c_str());
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

// A running xnusim, started in `dir` with `args` (no shell), stdout and stderr to /dev/null.
struct Spawned {
  pid_t pid = -1;
  // Sends `sig` and waits: the exit code, or 128 + signal when the signal ended it by default.
  int kill_and_wait(int sig) const {
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }
};
inline Spawned spawn_xnusim(const std::string& dir, const std::vector<std::string>& args) {
  Spawned s;
  s.pid = ::fork();
  if (s.pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    std::FILE* null = std::fopen("/dev/null", "r+");
    if (null) {
      ::dup2(fileno(null), 0);
      ::dup2(fileno(null), 1);
      ::dup2(fileno(null), 2);
    }
    std::vector<char*> argv;
    std::string binary = XNUSIM_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  return s;
}

// The names in `dir` (not recursive), sorted.
inline std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace testing

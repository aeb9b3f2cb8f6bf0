// Running the xnusim binary from tests: exit code, stdout and stderr of one command.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

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

// Runs the binary from the repository root with `args`, capturing stdout and stderr.
inline CliResult xnusim(const std::string& args) {
  static int counter = 0;
  std::string base = temp_path("cli-" + std::to_string(counter++));
  std::string cmd = std::string("cd '") + XNUSIM_SOURCE_DIR + "' && '" + XNUSIM_BINARY + "' " + args + " >" + base +
                    ".out 2>" + base + ".err </dev/null";
  int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

}  // namespace testing

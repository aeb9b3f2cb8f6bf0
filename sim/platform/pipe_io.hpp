// What the two sides of a SimGrid child process share (session.cpp and simgrid_child.cpp start it,
// simgrid_host.cpp runs in it): whole-record reads and writes on their pipes (a short count is
// retried, EINTR too), and the child's signal set-up.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>

namespace sim::platform {

// False when the other end closed the pipe or failed before `n` bytes.
inline bool read_full(int fd, void* p, size_t n) {
  auto* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t got = read(fd, c, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    c += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

inline bool write_full(int fd, const void* p, size_t n) {
  const auto* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t put = write(fd, c, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    c += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

// In a child just forked: a crash of SimGrid must end the child by its signal (the parent then
// says SimGrid crashed), not run a handler the parent installed (a test framework's, which would
// report the parent's tests from the child), so the crash signals go back to their defaults.
inline void default_crash_signals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
}

}  // namespace sim::platform

// Whole-record reads and writes on the pipes between a run and its SimGrid child (session.cpp on
// the run's side, simgrid_host.cpp in the child): a short count is retried, EINTR too.
#pragma once

#include <unistd.h>

#include <cerrno>
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

}  // namespace sim::platform

// Runs one benchmark case in a child process, so that its peak RSS is its own, and reads its
// figures (a trivially copyable struct) back through a pipe.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <type_traits>

namespace bench {

template <typename Figures, typename Measure>
bool run_isolated(Measure measure, Figures& f) {
  static_assert(std::is_trivially_copyable_v<Figures>);
  int fds[2];
  if (pipe(fds) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    Figures r = measure();
    ssize_t n = write(fds[1], &r, sizeof r);
    _exit(n == static_cast<ssize_t>(sizeof r) ? 0 : 1);
  }
  close(fds[1]);
  ssize_t n = read(fds[0], &f, sizeof f);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return n == static_cast<ssize_t>(sizeof f) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace bench

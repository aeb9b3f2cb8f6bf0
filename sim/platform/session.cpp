// PlatformSession: the live SimGrid child of a run with disks (session.hpp).
#include "sim/platform/session.hpp"

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "sim/core/errors.hpp"
#include "sim/platform/energy.hpp"
#include "sim/platform/pipe_io.hpp"

namespace sim::platform {

namespace {

std::atomic<int64_t> g_round_trips{0};  // every session of this process (sweep runs several at once)

}  // namespace

int64_t session_round_trips_total() { return g_round_trips.load(std::memory_order_relaxed); }

PlatformSession::PlatformSession(const HostSpec& host, dispatcher::Dispatcher& d) : host_(host), d_(&d) {
  d.set_external_clock(this);
}

PlatformSession::~PlatformSession() {
  if (pid_ > 0) {
    SessionCommand q;
    q.kind = SessionCommand::quit;
    write_full(to_child_, &q, sizeof q);
    close(to_child_);
    close(from_child_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (temp_file_) unlink(file_.c_str());
}

void PlatformSession::fail(const std::string& what) {
  throw core::InternalError(d_->now(), 0, fmt::format("the SimGrid platform: {}", what));
}

// The child: loads the module and serves the commands until quit (or the end of its input).
void PlatformSession::start_child() {
  file_ = host_.file;
  if (file_.empty()) {
    std::string err;
    file_ = write_platform_file(host_, err);
    if (file_.empty()) fail(err);
    temp_file_ = true;
  }
  int down[2], up[2];
  if (pipe(down) != 0) fail("cannot prepare the SimGrid process");
  if (pipe(up) != 0) {
    close(down[0]);
    close(down[1]);
    fail("cannot prepare the SimGrid process");
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    default_crash_signals();
    // Only its own pipe ends stay open: another session's child must see its input end.
    close(down[1]);
    close(up[0]);
    if (dup2(down[0], 3) < 0 || dup2(up[1], 4) < 0) _exit(5);
    for (int fd = 5; fd < 1024; ++fd) close(fd);
    int code = 2;
    if (void* m = dlopen(simgrid_module_path(), RTLD_NOW | RTLD_LOCAL)) {
      using Entry = int (*)(const HostSpec*, const char*, int, int);
      auto entry = reinterpret_cast<Entry>(dlsym(m, "xnusim_simgrid_serve"));
      code = entry ? (entry(&host_, file_.c_str(), 3, 4) == 0 ? 0 : 4) : 3;
    }
    _exit(code);
  }
  close(down[0]);
  close(up[1]);
  if (pid < 0) {
    close(down[1]);
    close(up[0]);
    fail(fmt::format("cannot start the SimGrid process: {}", std::strerror(errno)));
  }
  // A child that dies makes writes fail with EPIPE rather than end the run with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  pid_ = pid;
  to_child_ = down[1];
  from_child_ = up[0];
}

void PlatformSession::send(const SessionCommand& c) {
  if (!write_full(to_child_, &c, sizeof c)) fail("the SimGrid process stopped");
}

void PlatformSession::start_disk(int32_t disk, bool write, int64_t bytes, uint16_t kind, int32_t target, int64_t arg) {
  SessionCommand c;
  c.kind = SessionCommand::start_io;
  c.disk = disk;
  c.write = write ? 1 : 0;
  c.bytes = bytes;
  start(c, Pending{kind, target, arg, 0});
}

void PlatformSession::start_send(int32_t from, int32_t to, int64_t bytes, uint16_t kind, int32_t target, int64_t arg) {
  SessionCommand c;
  c.kind = SessionCommand::start_send;
  c.from = from;
  c.to = to;
  c.bytes = bytes;
  start(c, Pending{kind, target, arg, 0});
}

// A transfer starts now: the child (started at the first) is told, and the horizon is void.
void PlatformSession::start(SessionCommand c, Pending p) {
  if (pid_ < 0) start_child();
  c.id = next_id_++;
  c.at_ns = d_->now().ns;
  send(c);
  p.started_ns = c.at_ns;
  pending_.emplace(c.id, p);
  horizon_ = 0;
}

// Lazy synchronisation: only while a transfer is pending, SimGrid runs up to `next`; each
// completion on the way becomes the dispatcher event the transfer was started with.
void PlatformSession::sync(core::SimTime next) {
  // Nothing in flight can have ended by `next`: SimGrid need not catch up yet (it will when an
  // instant reaches the horizon, or before a new transfer starts, which sleeps it to its start).
  if (next.ns < horizon_) return;
  while (!pending_.empty()) {
    SessionCommand c;
    c.kind = SessionCommand::advance;
    c.at_ns = next.ns;
    send(c);
    SessionReply r;
    if (!read_full(from_child_, &r, sizeof r)) {
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      if (code == 2) fail(fmt::format("cannot load the SimGrid module {} (set XNUSIM_SIMGRID_MODULE)", simgrid_module_path()));
      if (code == 3) fail(fmt::format("{} has no entry point for xnusim", simgrid_module_path()));
      fail("SimGrid stopped without an answer");
    }
    ++round_trips_;
    g_round_trips.fetch_add(1, std::memory_order_relaxed);
    horizon_ = r.horizon_ns;
    if (r.kind == SessionReply::reached) return;
    auto it = pending_.find(r.id);
    if (r.kind != SessionReply::completion || it == pending_.end()) fail("an answer about no transfer");
    Pending p = it->second;
    pending_.erase(it);
    // Never before the transfer began, nor at an instant the dispatcher has already left.
    int64_t at = std::max({r.ns, p.started_ns + 1, d_->now().ns});
    d_->schedule(core::SimTime{at}, dispatcher::kRankTimer, p.kind, p.target, 0, p.arg);
  }
}

}  // namespace sim::platform

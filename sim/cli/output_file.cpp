// Atomic outputs for `xnusim run`: temporary beside the target, rename on success, unlink on a
// signal or error.
#include "sim/cli/output_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace sim::cli {

namespace {

namespace fs = std::filesystem;

// The temporaries a signal handler must remove. A slot's path is written before the slot is
// marked live, and the slot is unmarked before the path changes, so the handler only ever reads
// a complete path.
constexpr int kSlots = 32;  // --csv DIR alone opens eight files
std::array<std::array<char, PATH_MAX>, kSlots> g_temp_paths;
volatile sig_atomic_t g_live[kSlots] = {};

int claim_slot(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    if (g_live[i]) continue;
    std::memcpy(g_temp_paths[static_cast<size_t>(i)].data(), path.c_str(), path.size() + 1);
    g_live[i] = 1;
    return i;
  }
  return -1;
}

void release_slot(int& slot) {
  if (slot >= 0) g_live[slot] = 0;
  slot = -1;
}

extern "C" void on_terminating_signal(int sig) {
  // Only async-signal-safe calls: unlink(2) and _exit(2).
  for (int i = 0; i < kSlots; ++i)
    if (g_live[i]) unlink(g_temp_paths[static_cast<size_t>(i)].data());
  _exit(128 + sig);
}

std::string cannot_write(const std::string& path, int err) {
  return fmt::format("xnusim: error: cannot write \"{}\": {}", path, std::strerror(err));
}

sigset_t terminating_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

std::string OutputFile::open(const std::string& path) {
  path_ = path;
  if (path.empty()) return "";
  if (path == "-") {
    file_ = stdout;
    return "";
  }
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    // A device, FIFO or terminal: nothing to replace atomically, write it directly.
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) return cannot_write(path, errno);
    return "";
  }
  // A file the user may not write stays refused, although the rename would replace it.
  if (exists && ::access(path.c_str(), W_OK) != 0) return cannot_write(path, errno);
  std::error_code ec;
  fs::path target = exists ? fs::canonical(path, ec) : fs::path(path);
  if (ec) return cannot_write(path, ec.value());
  target_ = target.string();
  fs::path dir = target.parent_path();
  std::string templ = (dir.empty() ? std::string(".") : dir.string()) + "/." +
                      target.filename().string() + ".xnusim-XXXXXX";
  int fd = -1;
  {
    SignalBlock block;  // the temporary is registered for removal before a signal can be taken
    fd = mkstemp(templ.data());
    if (fd < 0) return cannot_write(path, errno);
    temp_ = templ;
    slot_ = claim_slot(temp_);
  }
  // mkstemp makes the file 0600; give it the mode the target has, or a new file would get.
  mode_t mode = 0;
  if (exists) {
    mode = st.st_mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(fd, mode) != 0 || !(file_ = fdopen(fd, "wb"))) {
    int err = errno;
    if (!file_) ::close(fd);
    discard();
    return cannot_write(path, err);
  }
  return "";
}

void OutputFile::write(std::string_view text) {
  if (!file_ || text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
    // Keep the first cause: the flush in finish() may fail differently, or not at all.
    if (!write_failed_) write_errno_ = errno;
    write_failed_ = true;
  }
}

std::string OutputFile::finish() {
  if (!file_) return "";
  int err = 0;
  if (std::fflush(file_) != 0) err = errno;
  if (err == 0 && (std::ferror(file_) || write_failed_)) err = write_errno_ != 0 ? write_errno_ : EIO;
  if (file_ != stdout) {
    if (std::fclose(file_) != 0 && err == 0) err = errno;
  }
  file_ = nullptr;
  if (err != 0) {
    discard();
    return cannot_write(path_, err);
  }
  return "";
}

std::string OutputFile::commit() {
  if (std::string e = finish(); !e.empty()) return e;
  if (temp_.empty()) return "";
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    int err = errno;
    discard();
    return cannot_write(path_, err);
  }
  release_slot(slot_);
  temp_.clear();
  return "";
}

void OutputFile::discard() {
  if (file_ && file_ != stdout) std::fclose(file_);
  file_ = nullptr;
  if (!temp_.empty()) {
    // Unlink before unmarking: a signal in between finds the path gone, which is harmless.
    ::unlink(temp_.c_str());
    release_slot(slot_);
    temp_.clear();
  }
}

std::string check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  struct Identity {
    std::string option;
    std::string path;
    bool is_stdout = false;
    bool has_inode = false;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string canonical;
  };
  struct stat out_st {};
  bool stdout_known = fstat(STDOUT_FILENO, &out_st) == 0;
  std::vector<Identity> ids;
  for (const auto& [option, path] : outputs) {
    if (path.empty()) continue;
    Identity id;
    id.option = option;
    id.path = path;
    struct stat st {};
    if (path == "-") {
      id.is_stdout = true;
      if (stdout_known) {
        id.has_inode = true;
        id.dev = out_st.st_dev;
        id.ino = out_st.st_ino;
      }
    } else if (::stat(path.c_str(), &st) == 0) {
      id.has_inode = true;
      id.dev = st.st_dev;
      id.ino = st.st_ino;
      id.is_stdout = stdout_known && st.st_dev == out_st.st_dev && st.st_ino == out_st.st_ino;
    }
    std::error_code ec;
    id.canonical = path == "-" ? "-" : fs::weakly_canonical(fs::absolute(path, ec), ec).string();
    ids.push_back(std::move(id));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    for (size_t j = i + 1; j < ids.size(); ++j) {
      const Identity& a = ids[i];
      const Identity& b = ids[j];
      if (a.is_stdout && b.is_stdout)
        return fmt::format("xnusim: error: {} {} and {} {} both write to stdout; at most one output may "
                           "use stdout", a.option, a.path, b.option, b.path);
      bool same = (a.has_inode && b.has_inode && a.dev == b.dev && a.ino == b.ino) ||
                  (!a.canonical.empty() && a.canonical == b.canonical);
      if (same)
        return fmt::format("xnusim: error: {} {} and {} {} name the same file; give each output its own "
                           "file", a.option, a.path, b.option, b.path);
    }
  }
  return "";
}

bool writes_to_stdout(const std::string& path) {
  if (path.empty()) return false;
  if (path == "-") return true;
  struct stat out_st {}, st {};
  return fstat(STDOUT_FILENO, &out_st) == 0 && ::stat(path.c_str(), &st) == 0 && st.st_dev == out_st.st_dev &&
         st.st_ino == out_st.st_ino;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_terminating_signal;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaddset(&sa.sa_mask, SIGHUP);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    // A signal the caller ignores (nohup, a background job's SIGINT) stays ignored.
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sig, &sa, nullptr);
  }
}

SignalBlock::SignalBlock() {
  sigset_t set = terminating_signals();
  sigprocmask(SIG_BLOCK, &set, &old_);
}

SignalBlock::~SignalBlock() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

}  // namespace sim::cli

// The outputs of `xnusim run` (--json, --csv, --trace): written to a temporary file beside the
// target and renamed over it on success, so an interrupted or failed run leaves earlier files as
// they were; every write, flush and close is checked.
#pragma once

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sim::cli {

class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() { discard(); }

  // Opens `path` ("-" is stdout; "" means no output). A regular file, or a path that does not
  // exist yet, is written to a temporary file in the same directory (unique name, removed on a
  // signal or error); anything else (a device such as /dev/full, a FIFO, stdout) is written
  // directly. Returns an error line, or "" on success.
  std::string open(const std::string& path);
  bool is_open() const { return file_ != nullptr; }
  // The stream to write to, or nullptr when there is no output.
  std::FILE* file() const { return file_; }
  // Appends text; a failure is reported by commit().
  void write(std::string_view text);
  // Flushes and closes the stream, checking every step. Returns an error line ("" on success);
  // on failure the temporary is removed and the target left as it was.
  std::string finish();
  // finish(), then renames the temporary over the target.
  std::string commit();
  // Closes and removes the temporary, if any (the target is left as it was).
  void discard();

 private:
  std::string path_;   // as given
  std::string target_; // what commit() renames onto (symlinks resolved)
  std::string temp_;   // the temporary, or "" when written directly
  std::FILE* file_ = nullptr;
  int slot_ = -1;      // index in the signal handler's table of temporaries
  bool write_failed_ = false;
  int write_errno_ = 0;  // errno of the first failed write
};

// An error line when two outputs would write the same file (same canonical path or inode) or
// more than one would write to stdout (given as "-" or as a path to stdout's file); else "".
// Each entry is (option name, path); empty paths are ignored.
std::string check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

// True when `path` is "-" or names the file stdout is open on (e.g. /dev/stdout).
bool writes_to_stdout(const std::string& path);

// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove the open temporaries (unlink(2)
// only) and _exit(128 + signal). Async-signal-safe.
void install_signal_handlers();

// Defers SIGINT, SIGTERM and SIGHUP while in scope, so that a signal cannot leave some outputs
// renamed and others not; a pending signal is taken when the scope ends.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

}  // namespace sim::cli

#include "base/interrupt.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "tokvec/status.h"

namespace tokvec {

namespace {

// A signal handler may only touch lock-free atomics (and async-signal-safe calls).
std::atomic<int> g_signal{0};
std::atomic<bool> g_requested{false};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);
bool g_installed = false;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

extern "C" void on_signal(int signal) {
  if (g_signal != 0) {
    // Second signal: the user insists. Back to the command's own action (remove the
    // temporaries and exit) or the default, and re-raise.
    sigaction(signal, signal == SIGTERM ? &g_previous_term : &g_previous_int, nullptr);
    std::raise(signal);
    return;
  }
  g_signal = signal;
  g_requested = true;
}

// The command-wide handler's state: fixed buffers, written before the handler can read
// them (a slot is published by its state, a note by its index).
constexpr int kSlots = 64;
constexpr size_t kPathBytes = 4096;
struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being filled, 2 registered
  char path[kPathBytes];
};
Slot g_slots[kSlots];
char g_command[64];
char g_notes[2][1024];
std::atomic<int> g_note{-1};  // index into g_notes, -1: the default
std::atomic<unsigned> g_completed{0};
bool g_tty = false;

/// Appends a C string to buf (of `size` bytes, NUL-terminated), as far as it fits.
void append(char* buf, size_t size, const char* s) {
  size_t n = std::strlen(buf);
  while (*s != '\0' && n + 1 < size) buf[n++] = *s++;
  buf[n] = '\0';
}

extern "C" void exit_on_signal(int signal) {
  for (Slot& slot : g_slots) {
    if (slot.state.load() == 2) ::unlink(slot.path);
  }
  char msg[1400] = "";
  append(msg, sizeof msg, g_tty ? "\r\033[K" : "\n");
  append(msg, sizeof msg, "tokvec ");
  append(msg, sizeof msg, g_command);
  append(msg, sizeof msg, signal == SIGTERM ? ": stopped by SIGTERM; " : ": stopped by SIGINT; ");
  const int note = g_note.load();
  if (note >= 0) append(msg, sizeof msg, g_notes[note]);
  else if (g_completed.load() == 0) append(msg, sizeof msg, "nothing was written");
  else append(msg, sizeof msg, "the files already completed were kept; no half-written file was left");
  append(msg, sizeof msg, "\n");
  ssize_t ignored = ::write(STDERR_FILENO, msg, std::strlen(msg));
  (void)ignored;
  ::_exit(128 + signal);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  if (g_installed) throw internal_error("InterruptGuard installed twice");
  g_signal = 0;
  g_requested = false;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
  g_installed = true;
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  g_installed = false;
}

bool InterruptGuard::requested() noexcept { return g_requested.load(); }
const std::atomic<bool>& InterruptGuard::flag() noexcept { return g_requested; }
int InterruptGuard::signal_number() noexcept { return g_signal.load(); }
void InterruptGuard::simulate(int signal) noexcept {
  g_signal = signal;
  g_requested = true;
}

void exit_cleanly_on_signal(std::string_view command) {
  g_command[0] = '\0';
  std::string name(command.substr(0, sizeof g_command - 1));
  append(g_command, sizeof g_command, name.c_str());
  g_tty = ::isatty(STDERR_FILENO) == 1;
  struct sigaction action {};
  action.sa_handler = exit_on_signal;
  sigemptyset(&action.sa_mask);
  // One cleanup at a time: a second signal waits until the first has exited.
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void set_signal_note(std::string_view note) {
  if (note.empty()) {
    g_note = -1;
    return;
  }
  const int next = g_note.load() == 0 ? 1 : 0;
  char* buf = g_notes[next];
  const size_t n = std::min(note.size(), sizeof g_notes[0] - 1);
  std::memcpy(buf, note.data(), n);
  buf[n] = '\0';
  g_note = next;
}

void note_file_completed() noexcept { ++g_completed; }

RemoveOnSignal::RemoveOnSignal(const std::string& path) noexcept {
  if (path.size() >= kPathBytes) return;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_slots[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].state = 2;
    slot_ = i;
    return;
  }
}

RemoveOnSignal::~RemoveOnSignal() {
  if (slot_ >= 0) g_slots[slot_].state = 0;
}

void signal_point(std::string_view phase) {
  const char* v = std::getenv("TOKVEC_TEST_SIGNAL_AT");
  if (v == nullptr) return;
  std::string_view want(v);
  int signal = SIGINT;
  if (want.size() > 5 && want.substr(want.size() - 5) == ":TERM") {
    signal = SIGTERM;
    want.remove_suffix(5);
  } else if (want.size() > 4 && want.substr(want.size() - 4) == ":INT") {
    want.remove_suffix(4);
  }
  if (want == phase) std::raise(signal);
}

}  // namespace tokvec

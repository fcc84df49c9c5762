#include "tokvec/interrupt.h"

#include <csignal>

#include "tokvec/status.h"

namespace tokvec {

namespace {

// A signal handler may only touch lock-free atomics.
std::atomic<int> g_signal{0};
std::atomic<bool> g_requested{false};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);
bool g_installed = false;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

extern "C" void on_signal(int signal) {
  if (g_signal != 0) {
    // Second signal: the user insists. Restore the default action and re-raise.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_signal = signal;
  g_requested = true;
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

}  // namespace tokvec

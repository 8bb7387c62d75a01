// scripts/isa-mask's test probe: prints three CPUID bits, then (with an argument) dereferences null,
// under a SIGSEGV handler of its own set by sigaction ("handler") or signal ("signal"), or with none ("crash").
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void own_handler(int sig) {
  (void)sig;
  static const char msg[] = "own handler\n";
  if (write(1, msg, sizeof msg - 1) < 0) _exit(4);
  _exit(3);
}

int main(int argc, char **argv) {
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  printf("avx2=%u avx512f=%u avx512_vnni=%u\n", (b >> 5) & 1, (b >> 16) & 1, (c >> 11) & 1);
  fflush(stdout);
  if (argc < 2) return 0;
  if (strcmp(argv[1], "handler") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigaction(SIGSEGV, &sa, NULL);
  } else if (strcmp(argv[1], "signal") == 0) {
    // glibc's signal() does not go through the exported sigaction: the mask must catch it too, and later
    // CPUIDs must still be answered by the mask, not this handler.
    signal(SIGSEGV, own_handler);
    __cpuid_count(7, 0, a, b, c, d);
    printf("after signal(): avx512f=%u\n", (b >> 16) & 1);
    fflush(stdout);
  }
  volatile int *nothing = NULL;
  return *nothing;
}

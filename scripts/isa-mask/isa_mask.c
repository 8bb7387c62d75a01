// Hides CPU features from every library in a process, so the kernels a CPU without them gets are the
// ones that run (dev-time benchmarks only: `node scripts/isa-mask.mjs`). Linux x86-64 with CPUID faulting
// (flag `cpuid_fault`): the kernel makes each CPUID instruction raise SIGSEGV, this library answers it with
// the real values minus the hidden bits. XNNPACK (cpuinfo), oneDNN, V8 and gcc's target_clones all read
// CPUID, so they all see the masked CPU. Loaded by LD_PRELOAD; AUDIOGEN_ISA_MASK names the profile.
//
// Other SIGSEGV handlers (Node's WebAssembly trap handler, Python's faulthandler, gcc's) are kept: their
// sigaction()/signal() calls are recorded here and called for every fault that is not a CPUID.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
static struct sigaction chained;  // what the process believes is its SIGSEGV action
static int active;

// Bits cleared per (leaf, subleaf, register). Register index: 0 eax, 1 ebx, 2 ecx, 3 edx.
struct hide {
  uint32_t leaf, subleaf;
  int reg;
  uint32_t bits;
};
#define BIT(n) (1u << (n))

// `avx2`: an AVX2 + FMA + F16C CPU without AVX-512, AVX-VNNI or AMX (AMD Zen 3, Intel before Alder Lake).
static const struct hide AVX2[] = {
    // leaf 7.0 ebx: avx512f 16, dq 17, ifma 21, pf 26, er 27, cd 28, bw 30, vl 31
    {7, 0, 1, BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31)},
    // leaf 7.0 ecx: avx512_vbmi 1, vbmi2 6, vnni 11, bitalg 12, vpopcntdq 14
    {7, 0, 2, BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14)},
    // leaf 7.0 edx: 4vnniw 2, 4fmaps 3, vp2intersect 8, amx_bf16 22, avx512_fp16 23, amx_tile 24, amx_int8 25
    {7, 0, 3, BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25)},
    // leaf 7.1 eax: avx_vnni 4, avx512_bf16 5, amx_fp16 21, avx_ifma 23
    {7, 1, 0, BIT(4) | BIT(5) | BIT(21) | BIT(23)},
    // leaf 7.1 edx: avx_vnni_int8 4, avx_ne_convert 5, avx_vnni_int16 10, avx10 19
    {7, 1, 3, BIT(4) | BIT(5) | BIT(10) | BIT(19)},
};

static const struct hide *profile;
static size_t profile_len;

static long set_cpuid(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, (unsigned long)enabled); }

static void fatal(const char *what) {
  // The process must not run unmasked while the benchmark believes it is masked.
  dprintf(2, "isa-mask: %s\n", what);
  _exit(97);
}

static void chain(int sig, siginfo_t *info, void *uc) {
  if (chained.sa_flags & SA_SIGINFO) {
    if (chained.sa_sigaction) return chained.sa_sigaction(sig, info, uc);
  } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
    return chained.sa_handler(sig);
  }
  if (!(chained.sa_flags & SA_SIGINFO) && chained.sa_handler == SIG_IGN && info->si_code <= 0) return;
  // The default action (also for an ignored fault, which the kernel would not ignore either): the process
  // dies of SIGSEGV, as it would have without this library.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  real_sigaction(SIGSEGV, &dfl, NULL);
  raise(SIGSEGV);
}

static void on_segv(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *r = uc->uc_mcontext.gregs;
  // A faulting CPUID is a general-protection fault: SI_KERNEL, no address; page faults never match.
  const unsigned char *ip = (const unsigned char *)r[REG_RIP];
  if (info->si_code != SI_KERNEL || ip[0] != 0x0f || ip[1] != 0xa2) return chain(sig, info, ctx);
  uint32_t leaf = (uint32_t)r[REG_RAX], subleaf = (uint32_t)r[REG_RCX];
  uint32_t v[4];
  if (set_cpuid(1) != 0) fatal("cannot re-enable CPUID");
  __cpuid_count(leaf, subleaf, v[0], v[1], v[2], v[3]);
  if (set_cpuid(0) != 0) fatal("cannot disable CPUID again");
  for (size_t i = 0; i < profile_len; i++) {
    const struct hide *h = &profile[i];
    if (h->leaf == leaf && h->subleaf == subleaf) v[h->reg] &= ~h->bits;
  }
  // CPUID writes the 32-bit registers, which zero-extends them.
  r[REG_RAX] = v[0];
  r[REG_RBX] = v[1];
  r[REG_RCX] = v[2];
  r[REG_RDX] = v[3];
  r[REG_RIP] += 2;
}

// The process's own SIGSEGV handlers are recorded, not installed: ours stays in front and calls theirs.
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  if (!active || sig != SIGSEGV) return real_sigaction(sig, act, old);
  if (old) *old = chained;
  if (act) chained = *act;
  return 0;
}

// glibc's signal() installs through its internal sigaction, past the one above: answered here the same way
// (BSD semantics, as glibc's: the handler stays, interrupted calls restart). gcc's cc1plus uses it.
typedef void (*handler_fn)(int);
handler_fn signal(int sig, handler_fn handler) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, sig);
  sa.sa_flags = SA_RESTART;
  if (sigaction(sig, &sa, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}
handler_fn bsd_signal(int sig, handler_fn handler) { return signal(sig, handler); }

__attribute__((constructor)) static void start(void) {
  const char *name = getenv("AUDIOGEN_ISA_MASK");
  if (!name || !*name) return;
  if (strcmp(name, "avx2") == 0) {
    profile = AVX2;
    profile_len = sizeof AVX2 / sizeof AVX2[0];
  } else {
    fatal("unknown AUDIOGEN_ISA_MASK (known: avx2)");
  }
  real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  if (!real_sigaction) fatal("no sigaction");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  if (real_sigaction(SIGSEGV, &sa, &chained) != 0) fatal("cannot install the SIGSEGV handler");
  // CPUID faulting is per thread and inherited by threads and forks made after this (reset by execve;
  // LD_PRELOAD then applies it again in the new program).
  if (set_cpuid(0) != 0) fatal("CPUID faulting is unavailable here (no cpuid_fault flag or not x86-64 Linux)");
  active = 1;
}

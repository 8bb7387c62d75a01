// @audiogen/runtime-native: a thin Node-API binding over LiteRT's CompiledModel C API.
//
// JS side (src/native.ts) owns validation, names, dtypes and errors; this file only:
//  - keeps one LiteRtEnvironment per process,
//  - loads + compiles a model on a worker thread (from a file path, or from bytes kept alive by JS),
//  - reports signatures (names, element types, shapes),
//  - runs a signature on a worker thread with LiteRT-managed tensor buffers (from the compiled model's
//    requirements, as the Python API creates them) that stay bound across runs; inputs are copied in on
//    the worker thread, outputs copied once into native blocks handed to JS as external ArrayBuffers,
//  - resizes inputs, cancels (LiteRT cancellation callback + flag) and disposes,
//  - hands LiteRT's own error text to JS: models are compiled with LiteRT's buffer error reporter, read
//    (and so cleared) after every load/run/resize and echoed to stderr; a failed compile, whose reporter
//    dies with it, is retried once with stderr captured (StderrCapture).
// One source for linux (g++), darwin-arm64 and win32-x64 (zig cross builds: scripts/build-addon.mjs); keep
// it portable: fd calls through Fd*(), aligned blocks through AlignedAlloc/AlignedFree, no POSIX-only API
// outside an #ifdef, and new LiteRt* calls listed in scripts/fetch-litert.mjs (checked per platform).
// Errors are thrown as JS Errors whose `litertStatus`/`op`/`litertMessages`/`litertStderr` properties the
// TS layer maps to AudiogenError.
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __APPLE__
#include <malloc/malloc.h>
#endif
#ifdef _WIN32
#define NOMINMAX
#define WIN32_LEAN_AND_MEAN
#include <io.h>
#include <windows.h>
#else
#include <dlfcn.h>
#include <poll.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#endif
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "litert_c_api.h"
#include "snake.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace {

constexpr size_t kAlign = 64;  // LITERT_HOST_MEMORY_BUFFER_ALIGNMENT

// 64-byte aligned blocks, released with AlignedFree (the UCRT's aligned blocks need their own free).
void* AlignedAlloc(size_t n) {
#ifdef _WIN32
  return _aligned_malloc(n, kAlign);
#else
  void* p = nullptr;
  return posix_memalign(&p, kAlign, n) == 0 ? p : nullptr;
#endif
}
void AlignedFree(void* p) {
#ifdef _WIN32
  _aligned_free(p);
#else
  free(p);
#endif
}

std::mutex g_env_mutex;
LiteRtEnvironment g_env = nullptr;

int g_log_severity = 2;  // warning; set by the first load() (the environment is per process)

LiteRtStatus GetEnv(LiteRtEnvironment* out) {
  std::lock_guard<std::mutex> lock(g_env_mutex);
  if (!g_env) {
    LiteRtEnvOption opts[2];
    std::memset(opts, 0, sizeof(opts));
    opts[0].tag = kLiteRtEnvOptionTagAutoRegisterAccelerators;  // CPU only: no GPU/NPU plugin probing
    opts[0].value.type = kLiteRtAnyTypeInt;
    opts[0].value.int_value = kLiteRtHwAcceleratorCpu;
    opts[1].tag = kLiteRtEnvOptionTagMinLoggerSeverity;
    opts[1].value.type = kLiteRtAnyTypeInt;
    opts[1].value.int_value = g_log_severity;
    // AUDIOGEN_LITERT_ALL_ACCELERATORS=1 keeps LiteRT's default registration (A/B benchmarks).
    bool all = getenv("AUDIOGEN_LITERT_ALL_ACCELERATORS") != nullptr;
    LiteRtStatus s = all ? LiteRtCreateEnvironment(1, opts + 1, &g_env) : LiteRtCreateEnvironment(2, opts, &g_env);
    if (s != kLiteRtStatusOk) return s;
  }
  *out = g_env;
  return kLiteRtStatusOk;
}

// The GPU lives in a second environment, created by the first GPU load (or accelerator listing): it
// registers LiteRT's GPU accelerator, which LiteRT dlopens from `dir` (the runtime library directory option),
// so CPU-only processes never load the accelerator library or touch a GPU driver. The directory is
// chosen in TypeScript; once the environment exists it cannot change.
std::string g_gpu_dir;  // must outlive the environment (the option holds the pointer)
LiteRtEnvironment g_gpu_env = nullptr;

LiteRtStatus GetGpuEnv(const std::string& dir, LiteRtEnvironment* out) {
  std::lock_guard<std::mutex> lock(g_env_mutex);
  if (g_gpu_env && dir != g_gpu_dir) return kLiteRtStatusErrorAlreadyExists;
  if (!g_gpu_env) {
    g_gpu_dir = dir;
    LiteRtEnvOption opts[3];
    std::memset(opts, 0, sizeof(opts));
    opts[0].tag = kLiteRtEnvOptionTagAutoRegisterAccelerators;
    opts[0].value.type = kLiteRtAnyTypeInt;
    opts[0].value.int_value = kLiteRtHwAcceleratorCpu | kLiteRtHwAcceleratorGpu;
    opts[1].tag = kLiteRtEnvOptionTagMinLoggerSeverity;
    opts[1].value.type = kLiteRtAnyTypeInt;
    opts[1].value.int_value = g_log_severity;
    opts[2].tag = kLiteRtEnvOptionTagRuntimeLibraryDir;
    opts[2].value.type = kLiteRtAnyTypeString;
    opts[2].value.str_value = g_gpu_dir.c_str();
    LiteRtStatus s = LiteRtCreateEnvironment(3, opts, &g_gpu_env);
    if (s != kLiteRtStatusOk) {
      g_gpu_env = nullptr;
      return s;
    }
  }
  *out = g_gpu_env;
  return kLiteRtStatusOk;
}

size_t ElementBits(LiteRtElementType t) {
  switch (t) {
    case kLiteRtElementTypeInt64: case kLiteRtElementTypeFloat64: case kLiteRtElementTypeUInt64:
    case kLiteRtElementTypeComplex64: return 64;
    case kLiteRtElementTypeComplex128: return 128;
    case kLiteRtElementTypeFloat16: case kLiteRtElementTypeInt16: case kLiteRtElementTypeUInt16:
    case kLiteRtElementTypeBFloat16: return 16;
    case kLiteRtElementTypeInt8: case kLiteRtElementTypeUInt8: case kLiteRtElementTypeBool: return 8;
    case kLiteRtElementTypeInt4: return 4;
    case kLiteRtElementTypeInt2: return 2;
    case kLiteRtElementTypeFloat32: case kLiteRtElementTypeInt32: case kLiteRtElementTypeUInt32: return 32;
    default: return 0;
  }
}

// LiteRT's layouts hold at most AUDIOGEN_LITERT_MAX_RANK dimensions (core's MAX_RANK refuses files with
// more); a rank above it is never used to index `dimensions`.
bool RankOk(const LiteRtLayout& l) { return l.rank <= AUDIOGEN_LITERT_MAX_RANK; }

// Byte size of a dense tensor; 0 when a dimension is dynamic (< 0), the rank is out of range or the type
// is not plain data.
size_t ByteSize(const LiteRtRankedTensorType& t) {
  if (!RankOk(t.layout)) return 0;
  size_t n = 1;
  for (unsigned i = 0; i < t.layout.rank; i++) {
    if (t.layout.dimensions[i] < 0) return 0;
    n *= static_cast<size_t>(t.layout.dimensions[i]);
  }
  size_t bits = ElementBits(t.element_type);
  return (n * bits + 7) / 8;
}

// ---------------------------------------------------------------- LiteRT's error text

// File-descriptor calls of the C runtime. On Windows these are the UCRT's (ucrtbase.dll): libLiteRt.dll
// is an MSVC /MD build on the same UCRT, so fd 2 here is the stderr LiteRT prints to, as on POSIX.
#ifdef _WIN32
using IoSize = int;
IoSize FdWrite(int fd, const char* p, size_t n) { return _write(fd, p, static_cast<unsigned>(std::min<size_t>(n, 1u << 30))); }
IoSize FdRead(int fd, char* p, size_t n) { return _read(fd, p, static_cast<unsigned>(n)); }
int FdClose(int fd) { return _close(fd); }
int FdDup2(int from, int to) { return _dup2(from, to); }
int FdDup(int fd) { return _dup(fd); }
// Binary (no CRLF translation), not inherited by child processes.
int FdPipe(int p[2]) { return _pipe(p, 64 * 1024, _O_BINARY | _O_NOINHERIT); }
#else
using IoSize = ssize_t;
IoSize FdWrite(int fd, const char* p, size_t n) { return write(fd, p, n); }
IoSize FdRead(int fd, char* p, size_t n) { return read(fd, p, n); }
int FdClose(int fd) { return close(fd); }
int FdDup2(int from, int to) { return dup2(from, to); }
int FdDup(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 3); }
int FdPipe(int p[2]) {
  if (pipe(p) != 0) return -1;
  for (int i = 0; i < 2; i++) fcntl(p[i], F_SETFD, fcntl(p[i], F_GETFD) | FD_CLOEXEC);
  return 0;
}
#endif

// Writes all of p[0..n) to fd (partial writes and EINTR handled; other errors drop the rest).
void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    IoSize w = FdWrite(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads what the compiled model's buffer error reporter collected; LiteRT clears the buffer as it is
// read. Empty when nothing was reported or the model has no buffer reporter (the call then fails).
std::string TakeErrorMessages(LiteRtCompiledModel cm) {
  if (!cm) return "";
  char* m = nullptr;
  if (LiteRtCompiledModelGetErrorMessages(cm, &m) != kLiteRtStatusOk) {
    free(m);
    return "";
  }
  std::string s = m ? m : "";
  free(m);
  return s;
}

// The buffer reporter keeps messages off stderr; print them as TFLite's default reporter did before
// ("ERROR: " + message), in one write so that lines of concurrent models do not interleave.
void EchoToStderr(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    if (j > i) out += "ERROR: " + text.substr(i, j - i) + "\n";
    i = j + 1;
  }
  if (!out.empty()) WriteAll(2, out.data(), out.size());
}

std::mutex g_capture_mutex;  // one stderr capture at a time in the process

// Captures what is written to fd 2 between Start() and Stop(): used only to retry a LiteRT call that
// failed and whose explanation LiteRT only prints (compile). fd 2 is process-wide, so captures are
// serialized (the lock is held for the object's life) and anything another thread writes meanwhile is
// captured too. A drain thread forwards every byte to the real stderr as it arrives (nothing is lost,
// also if the process dies meanwhile; a writer never blocks on a full pipe) and keeps a bounded copy
// (the first kHead and the last kTail bytes) for the error.
class StderrCapture {
 public:
  static constexpr size_t kHead = 16 * 1024;
  static constexpr size_t kTail = 48 * 1024;

  StderrCapture() : lock_(g_capture_mutex) {}
  // Filter mode: whole lines that start with one of `drop` are not forwarded (the caller's log level).
  explicit StderrCapture(std::vector<std::string> drop) : lock_(g_capture_mutex), drop_(std::move(drop)) {}
  ~StderrCapture() { Stop(); }

  // False (and nothing redirected) when fd 2 is closed or no pipe/thread can be made.
  bool Start() {
    fflush(stderr);
    saved_ = FdDup(2);
    if (saved_ < 0) return false;
    int p[2], w[2];
    if (FdPipe(p) != 0) return Fail(-1, -1);
    if (FdPipe(w) != 0) return Fail(p[0], p[1]);
    read_ = p[0];
    wake_r_ = w[0];
    wake_w_ = w[1];
    try {
      thread_ = std::thread(&StderrCapture::Drain, this);
    } catch (...) {
      return Fail(-1, p[1]);  // p[0] is read_, closed by CloseAll
    }
    if (FdDup2(p[1], 2) < 0) {
      FdClose(p[1]);  // no write end left: the drain thread sees EOF and ends
      thread_.join();
      return Fail(-1, -1);
    }
    FdClose(p[1]);  // fd 2 is now the only write end
    active_ = true;
    return true;
  }

  // Restores fd 2 and returns the kept text.
  std::string Stop() {
    if (!active_) return "";
    active_ = false;
    fflush(stderr);
    FdDup2(saved_, 2);  // closes the pipe's last write end (unless a child process inherited it)
    stopping_ = true;
    char c = 1;
    WriteAll(wake_w_, &c, 1);
    thread_.join();
    CloseAll();
    if (tail_.size() > kTail) {  // keep whole lines of the last kTail bytes
      size_t cut = tail_.size() - kTail;
      size_t nl = tail_.find('\n', cut);
      if (nl != std::string::npos) cut = nl + 1;
      tail_.erase(0, cut);
      dropped_ += cut;
    }
    std::string text = head_;
    if (dropped_ > 0) text += "\n[... " + std::to_string(dropped_) + " bytes of stderr not kept ...]\n";
    return text + tail_;
  }

 private:
  std::unique_lock<std::mutex> lock_;
  int saved_ = -1, read_ = -1, wake_r_ = -1, wake_w_ = -1;
  bool active_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::string head_, tail_;
  size_t dropped_ = 0;
  std::vector<std::string> drop_;
  std::string line_;  // filter mode: the unfinished line

  // Forwards what arrived; in filter mode whole lines only, minus the dropped ones (`end`: flush the rest).
  void Forward(const char* p, size_t n, bool end) {
    if (drop_.empty()) {
      if (n > 0) WriteAll(saved_, p, n);
      return;
    }
    if (n > 0) line_.append(p, n);
    std::string out;
    size_t i = 0;
    for (;;) {
      size_t j = line_.find('\n', i);
      if (j == std::string::npos) {
        if (!end) break;
        j = line_.size();
        if (j == i) break;
      }
      bool keep = true;
      for (const std::string& d : drop_) keep = keep && line_.compare(i, d.size(), d) != 0;
      if (keep) out.append(line_, i, std::min(j + 1, line_.size()) - i);
      i = j + 1;
      if (i >= line_.size()) break;
    }
    line_.erase(0, std::min(i, line_.size()));
    if (!out.empty()) WriteAll(saved_, out.data(), out.size());
  }

  bool Fail(int a, int b) {
    if (a >= 0) FdClose(a);
    if (b >= 0) FdClose(b);
    CloseAll();
    return false;
  }
  void CloseAll() {
    for (int* fd : {&saved_, &read_, &wake_r_, &wake_w_}) {
      if (*fd >= 0) FdClose(*fd);
      *fd = -1;
    }
  }
  void Keep(const char* p, size_t n) {
    size_t h = head_.size() < kHead ? std::min(n, kHead - head_.size()) : 0;
    head_.append(p, h);
    tail_.append(p + h, n - h);
    if (tail_.size() > 2 * kTail) {
      size_t cut = tail_.size() - kTail;
      tail_.erase(0, cut);
      dropped_ += cut;
    }
  }
  // Forwards and keeps what arrives until EOF (no write end left); once stopped, gives up after 100 ms
  // of silence (a child process kept a write end open).
  void Drain() {
    char buf[16384];
    int idle_ms = 0;
    for (;;) {
      int r = WaitReadable(idle_ms);
      if (r == 0) continue;
      if (r < 0) break;
      IoSize n = FdRead(read_, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;  // EOF: no write end left
      Forward(buf, static_cast<size_t>(n), false);
      Keep(buf, static_cast<size_t>(n));
    }
    Forward(nullptr, 0, true);
  }
  // 1: data (or EOF) to read; 0: wait again; -1: stop draining. `idle_ms` counts silence after Stop().
#ifdef _WIN32
  // Anonymous pipes cannot be waited on together with another handle: peek every millisecond.
  int WaitReadable(int& idle_ms) {
    DWORD avail = 0;
    if (!PeekNamedPipe(reinterpret_cast<HANDLE>(_get_osfhandle(read_)), nullptr, 0, nullptr, &avail, nullptr))
      return GetLastError() == ERROR_BROKEN_PIPE ? 1 : -1;  // broken pipe: read() then sees EOF
    if (avail > 0) return 1;
    if (stopping_ && ++idle_ms > 100) return -1;
    Sleep(1);
    return 0;
  }
#else
  int WaitReadable(int& idle_ms) {
    struct pollfd fds[2] = {{read_, POLLIN, 0}, {wake_r_, POLLIN, 0}};
    bool stopping = idle_ms > 0;
    int r = poll(fds, stopping ? 1 : 2, stopping ? 100 : -1);
    if (r < 0 && errno == EINTR) return 0;
    if (r <= 0) return -1;
    if (!stopping && (fds[1].revents & POLLIN)) idle_ms = 1;
    return (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
  }
#endif
};

Napi::Error StatusError(Napi::Env env, const std::string& op, int status, const std::string& messages = "",
                        const std::string* captured = nullptr) {
  std::string msg = "LiteRT " + op + " failed with status " + std::to_string(status);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("litertStatus", Napi::Number::New(env, status));
  e.Set("op", Napi::String::New(env, op));
  e.Set("litertMessages", Napi::String::New(env, messages));
  if (captured) e.Set("litertStderr", Napi::String::New(env, *captured));
  return e;
}

struct TensorMeta {
  std::string name;
  LiteRtRankedTensorType type;
};

struct SignatureMeta {
  std::string key;
  std::vector<TensorMeta> inputs;
  std::vector<TensorMeta> outputs;
};

// A host-memory tensor buffer we keep bound across runs: LiteRT sees the same buffers (same addresses)
// every run, as the Python wrapper's reused buffers, so nothing is re-bound or re-prepared per run.
struct Bound {
  LiteRtTensorBuffer buffer = nullptr;
  void* mem = nullptr;
  size_t size = 0;
  LiteRtRankedTensorType type;
  void Reset() {
    if (buffer) LiteRtDestroyTensorBuffer(buffer);
    AlignedFree(mem);
    buffer = nullptr;
    mem = nullptr;
    size = 0;
  }
};

bool SameType(const LiteRtRankedTensorType& a, const LiteRtRankedTensorType& b) {
  if (a.element_type != b.element_type || a.layout.rank != b.layout.rank) return false;
  for (unsigned i = 0; i < a.layout.rank; i++)
    if (a.layout.dimensions[i] != b.layout.dimensions[i]) return false;
  return true;
}

// Makes `b` a buffer of exactly this type (reused while the type is unchanged). By default it is a
// LiteRT-managed buffer created from the compiled model's requirements for that tensor -- the same kind
// the Python API creates -- else (AUDIOGEN_LITERT_HOST_BUFFERS=1, kept for A/B benchmarks) a host-memory
// buffer over our own aligned block.
LiteRtStatus Bind(Bound& b, const LiteRtRankedTensorType& type, size_t bytes, LiteRtEnvironment env,
                  LiteRtCompiledModel cm, size_t sig, size_t index, bool is_input) {
  if (b.buffer && SameType(b.type, type)) return kLiteRtStatusOk;
  b.Reset();
  b.type = type;
  b.type.layout.has_strides = false;
  b.size = bytes;
  static const bool host = getenv("AUDIOGEN_LITERT_HOST_BUFFERS") != nullptr;
  LiteRtStatus s;
  if (!host) {
    LiteRtTensorBufferRequirements req = nullptr;
    s = is_input ? LiteRtGetCompiledModelInputBufferRequirements(cm, sig, index, &req)
                 : LiteRtGetCompiledModelOutputBufferRequirements(cm, sig, index, &req);
    if (s == kLiteRtStatusOk) s = LiteRtCreateManagedTensorBufferFromRequirements(env, &b.type, req, &b.buffer);
    if (s != kLiteRtStatusOk) b.buffer = nullptr;
    return s;
  }
  size_t alloc = ((bytes + kAlign - 1) / kAlign) * kAlign + kAlign;
  b.mem = AlignedAlloc(alloc);
  if (!b.mem) {
    return kLiteRtStatusErrorMemoryAllocationFailure;
  }
  std::memset(b.mem, 0, alloc);
  s = LiteRtCreateTensorBufferFromHostMemory(&b.type, b.mem, bytes == 0 ? kAlign : bytes, nullptr, &b.buffer);
  if (s != kLiteRtStatusOk) {
    b.buffer = nullptr;
    b.Reset();
  }
  return s;
}

// Copies into (write) or out of (read) a bound buffer through LiteRT's lock API.
LiteRtStatus CopyIn(Bound& b, const void* src, size_t n) {
  if (n == 0) return kLiteRtStatusOk;
  void* p = nullptr;
  LiteRtStatus s = LiteRtLockTensorBuffer(b.buffer, &p, kLiteRtTensorBufferLockModeWrite);
  if (s != kLiteRtStatusOk) return s;
  std::memcpy(p, src, n);
  return LiteRtUnlockTensorBuffer(b.buffer);
}
LiteRtStatus CopyOut(Bound& b, void* dst, size_t n) {
  if (n == 0) return kLiteRtStatusOk;
  void* p = nullptr;
  LiteRtStatus s = LiteRtLockTensorBuffer(b.buffer, &p, kLiteRtTensorBufferLockModeRead);
  if (s != kLiteRtStatusOk) return s;
  std::memcpy(dst, p, n);
  return LiteRtUnlockTensorBuffer(b.buffer);
}

// Everything a loaded model owns natively. Shared between the JS wrapper and in-flight workers.
struct ModelState {
  LiteRtEnvironment env = nullptr;  // the CPU or the GPU environment (tensor buffers come from it)
  LiteRtModel model = nullptr;
  LiteRtCompiledModel compiled = nullptr;
  std::vector<SignatureMeta> signatures;
  std::vector<std::vector<Bound>> bound_inputs, bound_outputs;  // per signature
  std::vector<std::vector<LiteRtLayout>> out_layouts;             // per signature, valid unless resized
  std::vector<bool> layouts_stale;
  std::atomic<bool> cancel{false};
  std::atomic<int> busy{0};
  bool echo_errors = true;  // re-print LiteRT's reported messages on stderr
  bool fully_accelerated = false;  // LiteRtCompiledModelIsFullyAccelerated after compile
  bool on_gpu = false;             // compiled in the GPU environment
  bool disposed = false;
  int memfd = -1;  // the private copy LiteRT maps the model from (Linux), closed after the model
  bool dispose_pending = false;
  // Pages of the memfd freed after compile (weights XNNPACK packed into its own memory), and the memfd's
  // allocated bytes right after: a run that finds more allocated read a freed page (it read zeros).
  uint64_t released_bytes = 0;
  int64_t allocated_after_release = -1;
  // The AudiogenSnake kernel's state when it was registered for this model (outlives the compiled model).
  std::unique_ptr<audiogen::SnakeState> snake;
  // Loaded with `profile`: the compiled model's profiler (owned by it), started right after compile.
  LiteRtProfiler profiler = nullptr;
  // The options the model was compiled with: LiteRT keeps pointers into them (see Compile). After `compiled`.
  LiteRtOptions options = nullptr;

  void ReleaseBuffers() {
    for (auto& v : bound_inputs) for (auto& b : v) b.Reset();
    for (auto& v : bound_outputs) for (auto& b : v) b.Reset();
  }
  void Destroy() {
    ReleaseBuffers();
    [[maybe_unused]] const bool had_model = compiled || model;
    if (compiled) LiteRtDestroyCompiledModel(compiled);
    if (options) LiteRtDestroyOptions(options);
    options = nullptr;
    if (model) LiteRtDestroyModel(model);
    compiled = nullptr;
    model = nullptr;
    if (memfd >= 0) FdClose(memfd);
    memfd = -1;
#ifdef __GLIBC__
    // glibc keeps freed heap memory (XNNPACK's packed weights, workspaces) for reuse; a pipeline that
    // disposes each model after its stage would otherwise carry 0.3-0.7 GB into the next stage.
    if (had_model) malloc_trim(0);
#endif
#ifdef __APPLE__
    if (had_model) malloc_zone_pressure_relief(nullptr, 0);  // the same for macOS's malloc zones
#endif
  }
  ~ModelState() { Destroy(); }
};

bool CheckCancelled(void* data) { return static_cast<ModelState*>(data)->cancel.load(); }

LiteRtStatus ReadSignatures(LiteRtModel model, std::vector<SignatureMeta>* out, std::string* where) {
  LiteRtParamIndex nsig = 0;
  LiteRtStatus s = LiteRtGetNumModelSignatures(model, &nsig);
  if (s != kLiteRtStatusOk) { *where = "GetNumModelSignatures"; return s; }
  for (LiteRtParamIndex si = 0; si < nsig; si++) {
    LiteRtSignature sig = nullptr;
    if ((s = LiteRtGetModelSignature(model, si, &sig)) != kLiteRtStatusOk) { *where = "GetModelSignature"; return s; }
    SignatureMeta meta;
    const char* key = nullptr;
    if ((s = LiteRtGetSignatureKey(sig, &key)) != kLiteRtStatusOk) { *where = "GetSignatureKey"; return s; }
    meta.key = key ? key : "";
    for (int dir = 0; dir < 2; dir++) {
      LiteRtParamIndex n = 0;
      s = dir == 0 ? LiteRtGetNumSignatureInputs(sig, &n) : LiteRtGetNumSignatureOutputs(sig, &n);
      if (s != kLiteRtStatusOk) { *where = "GetNumSignatureInputs/Outputs"; return s; }
      for (LiteRtParamIndex i = 0; i < n; i++) {
        TensorMeta tm;
        const char* name = nullptr;
        LiteRtTensor t = nullptr;
        s = dir == 0 ? LiteRtGetSignatureInputName(sig, i, &name) : LiteRtGetSignatureOutputName(sig, i, &name);
        if (s != kLiteRtStatusOk) { *where = "GetSignatureInput/OutputName"; return s; }
        s = dir == 0 ? LiteRtGetSignatureInputTensorByIndex(sig, i, &t) : LiteRtGetSignatureOutputTensorByIndex(sig, i, &t);
        if (s != kLiteRtStatusOk) { *where = "GetSignatureInput/OutputTensorByIndex"; return s; }
        LiteRtTensorTypeId tid;
        if ((s = LiteRtGetTensorTypeId(t, &tid)) != kLiteRtStatusOk) { *where = "GetTensorTypeId"; return s; }
        if (tid != kLiteRtRankedTensorType) { *where = "unranked tensor " + std::string(name ? name : ""); return kLiteRtStatusErrorUnsupported; }
        std::memset(&tm.type, 0, sizeof(tm.type));
        if ((s = LiteRtGetRankedTensorType(t, &tm.type)) != kLiteRtStatusOk) { *where = "GetRankedTensorType"; return s; }
        if (!RankOk(tm.type.layout)) {
          *where = "tensor " + std::string(name ? name : "") + " has rank " + std::to_string(tm.type.layout.rank) +
                   " (at most " + std::to_string(AUDIOGEN_LITERT_MAX_RANK) + ")";
          return kLiteRtStatusErrorUnsupported;
        }
        tm.name = name ? name : "";
        (dir == 0 ? meta.inputs : meta.outputs).push_back(tm);
      }
    }
    out->push_back(std::move(meta));
  }
  return kLiteRtStatusOk;
}

Napi::Object TensorMetaToJs(Napi::Env env, const TensorMeta& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", t.name);
  o.Set("elementType", static_cast<int>(t.type.element_type));
  Napi::Array shape = Napi::Array::New(env, t.type.layout.rank);
  for (unsigned i = 0; i < t.type.layout.rank; i++) shape.Set(i, t.type.layout.dimensions[i]);
  o.Set("shape", shape);
  return o;
}

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeModel",
                                   {InstanceMethod("signatures", &NativeModel::Signatures),
                                    InstanceMethod("run", &NativeModel::Run),
                                    InstanceMethod("resizeInput", &NativeModel::ResizeInput),
                                    InstanceMethod("cancel", &NativeModel::Cancel),
                                    InstanceMethod("profileSummary", &NativeModel::ProfileSummary),
                                    InstanceMethod("dispose", &NativeModel::Dispose)});
    // One constructor per Node environment (main thread, each worker): a reference made in one
    // environment must never be used from another. Node deletes it when the environment exits.
    env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(f)));
    exports.Set("NativeModel", f);
    return exports;
  }

  explicit NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
      Napi::TypeError::New(info.Env(), "NativeModel is created by load()").ThrowAsJavaScriptException();
      return;
    }
    state_ = info[0].As<Napi::External<ModelState>>().Data();
  }

  ~NativeModel() override {
    // GC of a model that was never disposed: free it unless a worker still uses it (the worker then frees it).
    if (!state_) return;
    if (state_->busy.load() > 0) {
      state_->dispose_pending = true;
      state_->cancel = true;
      orphaned_ = true;
    } else {
      delete state_;
    }
    state_ = nullptr;
  }

  ModelState* state() { return state_; }

 private:
  ModelState* state_ = nullptr;
  bool orphaned_ = false;

  bool CheckUsable(Napi::Env env) {
    if (!state_ || state_->disposed) {
      Napi::Error e = Napi::Error::New(env, "model has been disposed");
      e.Set("code", "DISPOSED");
      e.ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  Napi::Value Signatures(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckUsable(env)) return env.Undefined();
    Napi::Array arr = Napi::Array::New(env, state_->signatures.size());
    for (size_t i = 0; i < state_->signatures.size(); i++) {
      const auto& s = state_->signatures[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("key", s.key);
      Napi::Array ins = Napi::Array::New(env, s.inputs.size());
      for (size_t k = 0; k < s.inputs.size(); k++) ins.Set(k, TensorMetaToJs(env, s.inputs[k]));
      Napi::Array outs = Napi::Array::New(env, s.outputs.size());
      for (size_t k = 0; k < s.outputs.size(); k++) outs.Set(k, TensorMetaToJs(env, s.outputs[k]));
      o.Set("inputs", ins);
      o.Set("outputs", outs);
      arr.Set(i, o);
    }
    return arr;
  }

  // resizeInput(signatureIndex, inputIndex, dims[])
  Napi::Value ResizeInput(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckUsable(env)) return env.Undefined();
    if (state_->busy.load() > 0) {
      Napi::Error::New(env, "cannot resize while a run is in progress").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t si = info[0].As<Napi::Number>().Uint32Value();
    size_t ii = info[1].As<Napi::Number>().Uint32Value();
    Napi::Array dims = info[2].As<Napi::Array>();
    if (si >= state_->signatures.size() || ii >= state_->signatures[si].inputs.size() || dims.Length() > AUDIOGEN_LITERT_MAX_RANK) {
      Napi::RangeError::New(env, "bad signature/input index or rank").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::vector<int> d(dims.Length());
    for (uint32_t i = 0; i < dims.Length(); i++) d[i] = dims.Get(i).As<Napi::Number>().Int32Value();
    LiteRtStatus s = LiteRtCompiledModelResizeInputTensor(state_->compiled, si, ii, d.data(), d.size());
    if (s != kLiteRtStatusOk) {
      std::string messages = TakeErrorMessages(state_->compiled);
      if (state_->echo_errors) EchoToStderr(messages);
      StatusError(env, "CompiledModelResizeInputTensor", s, messages).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (si < state_->layouts_stale.size()) state_->layouts_stale[si] = true;
    auto& t = state_->signatures[si].inputs[ii].type;
    t.layout.rank = d.size();
    for (size_t i = 0; i < d.size(); i++) t.layout.dimensions[i] = d[i];
    return env.Undefined();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    if (state_) state_->cancel = true;
    return info.Env().Undefined();
  }

  // profileSummary() -> string: LiteRT's per-node table of every run since load.
  Napi::Value ProfileSummary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* why = !state_ || state_->disposed ? "model has already been disposed"
                      : !state_->profiler         ? "model was not loaded with profile: true"
                      : state_->busy.load() > 0   ? "a run is in progress"
                                                  : nullptr;
    if (why) {
      Napi::Error e = Napi::Error::New(env, why);
      e.Set("code", !state_ || state_->disposed ? "DISPOSED" : "INVALID_STATE");
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const char* summary = nullptr;
    const LiteRtStatus s = LiteRtGetProfileSummary(state_->profiler, state_->compiled, &summary);
    std::string text = summary ? summary : "";
    free(const_cast<char*>(summary));  // malloc'd by LiteRT, also on an error
    if (s != kLiteRtStatusOk) {
      Napi::Error::New(env, "LiteRtGetProfileSummary failed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // LiteRT's summarizer keeps what it was handed and is handed every event the profiler holds: clear them
    // (a reset also stops the profiler, so start it again) for the summary to stay "every run since load".
    if (LiteRtResetProfiler(state_->profiler) == kLiteRtStatusOk) LiteRtStartProfiler(state_->profiler);
    return Napi::String::New(env, text);
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!state_ || state_->disposed) {
      Napi::Error e = Napi::Error::New(env, "model has already been disposed");
      e.Set("code", "DISPOSED");
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    state_->disposed = true;
    if (state_->busy.load() > 0) {
      state_->cancel = true;
      state_->dispose_pending = true;  // the in-flight worker destroys the native objects when it finishes
    } else {
      state_->Destroy();
    }
    return env.Undefined();
  }

  Napi::Value Run(const Napi::CallbackInfo& info);
};


// ---------------------------------------------------------------- load

#ifdef __linux__
// A memfd holding `n` bytes (-1 when memfds are unavailable): a file only this process can reach.
int MemfdWithBytes(const uint8_t* p, size_t n) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, "audiogen-model", 1u /* MFD_CLOEXEC */));
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return fd;
}

// Bytes the kernel holds for a memfd (its pages; holes excluded), -1 if unknown.
int64_t MemfdAllocated(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : -1;
}

// Where this process maps `fd` (LiteRT's mapping of the model): start address and file offset of each
// mapping of the same inode, from /proc/self/maps.
struct FdMapping { uintptr_t start, end; uint64_t offset; };
std::vector<FdMapping> MappingsOf(int fd) {
  std::vector<FdMapping> out;
  struct stat st;
  if (fstat(fd, &st) != 0) return out;
  FILE* f = fopen("/proc/self/maps", "re");
  if (!f) return out;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    unsigned long long a, b, off, ino;
    char perms[8];
    unsigned maj, min;
    if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &a, &b, perms, &off, &maj, &min, &ino) != 7) continue;
    if (ino == static_cast<unsigned long long>(st.st_ino) && strstr(line, "memfd:audiogen-model"))
      out.push_back({static_cast<uintptr_t>(a), static_cast<uintptr_t>(b), off});
  }
  fclose(f);
  return out;
}

// True when every page of [a, b) of the file is present in one of `maps` (/proc/self/pagemap bit 63),
// i.e. something read it since LiteRT mapped the model: for a weight only packing ops consume, XNNPACK.
bool PagesPresent(const std::vector<FdMapping>& maps, uint64_t a, uint64_t b, uint64_t page, int pagemap) {
  for (const FdMapping& m : maps) {
    if (a < m.offset || b > m.offset + (m.end - m.start)) continue;
    const uint64_t n = (b - a) / page;
    std::vector<uint64_t> e(n);
    const off_t at = static_cast<off_t>((m.start + (a - m.offset)) / page * sizeof(uint64_t));
    if (pread(pagemap, e.data(), n * sizeof(uint64_t), at) != static_cast<ssize_t>(n * sizeof(uint64_t)))
      return false;
    return std::all_of(e.begin(), e.end(), [](uint64_t x) { return (x >> 63) & 1; });
  }
  return false;
}

// After compile: frees the pages of the model's private copy that hold weights XNNPACK has packed into its
// own memory (they are never read again), so a model costs its packed weights once, not twice. Freed for
// real (FALLOC_FL_PUNCH_HOLE: the pages go back to the kernel, not just out of our page tables). Which
// ranges: those TypeScript found consumed only as weights/bias of ops XNNPACK packs, and of those, all when
// every node of the model runs in XNNPACK (IsFullyAccelerated), else only ranges whose every page was read
// while the model was created and compiled (a node left to TFLite's kernels would read its weights at run
// time, not at compile). Page-aligned inward, so the flatbuffer around a weight is kept.
uint64_t ReleasePackedWeights(int fd, const std::vector<std::pair<uint64_t, uint64_t>>& ranges, bool all) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::vector<FdMapping> maps;
  int pagemap = -1;
  if (!all) {
    maps = MappingsOf(fd);
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (maps.empty() || pagemap < 0) {
      if (pagemap >= 0) close(pagemap);
      return 0;
    }
  }
  uint64_t freed = 0;
  for (const auto& [off, len] : ranges) {
    const uint64_t a = (off + page - 1) / page * page, b = (off + len) / page * page;
    if (b <= a) continue;
    if (!all && !PagesPresent(maps, a, b, page, pagemap)) continue;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(a),
                  static_cast<off_t>(b - a)) == 0)
      freed += b - a;
  }
  if (pagemap >= 0) close(pagemap);
  return freed;
}
#endif

struct LoadSpec {
  std::string path;
  int memfd = -1;  // a private copy made by copyToMemfd (path is /proc/self/fd/<memfd>); owned once loaded
  // Byte ranges (offset, size) of the memfd holding constant weights that only ops XNNPACK packs consume
  // (found in TypeScript from the tables); freed after compile where XNNPACK did pack them.
  std::vector<std::pair<uint64_t, uint64_t>> release;
  const uint8_t* bytes = nullptr;
  size_t byte_length = 0;
  std::string toml;
  bool capture_stderr = true;  // retry a failed compile with stderr captured
  bool echo_errors = true;
  // Lines TFLite/LiteRT print while the model is created and compiled that start with one of these are not
  // forwarded to stderr (e.g. "INFO: "): which ones is the caller's log level, decided in TypeScript.
  std::vector<std::string> drop_stderr;
  // kLiteRtHwAccelerator* bits for the compile. With the GPU bit the model lives in the GPU environment
  // (accelerator library from gpu_dir) and gets gpu_toml as its GPU options; what LiteRT prints while it
  // loads (adapter, unsupported ops) is captured and handed back as `loadLog`.
  int accelerators = kLiteRtHwAcceleratorCpu;
  std::string gpu_dir;
  std::string gpu_toml;
  // > 0: register the AudiogenSnake and AudiogenAddSnake custom op kernels (snake.h), on this many threads.
  int snake_threads = 0;
  // Record every node of every run (LiteRT's profiler; costs a little per node): NativeModel.profileSummary.
  bool profile = false;
};

// Compiles for the CPU with our CPU options and, with `buffer_reporter`, LiteRT's buffer error reporter
// (runtime options); without it the interpreter prints its errors to stderr (TFLite's default reporter).
//
// The options outlive the compile: `*kept` holds them for as long as the compiled model lives (destroy them after
// it). LiteRT keeps pointers into them: a custom op's name as registered is read again by the profiler, and
// with the options freed it read freed memory (AudiogenAddSnake's 16-character name printed as garbage).
LiteRtStatus Compile(LiteRtEnvironment env, LiteRtModel model, const LoadSpec& spec, bool buffer_reporter,
                     audiogen::SnakeState* snake, LiteRtCompiledModel* out, LiteRtOptions* kept, std::string* op) {
  LiteRtOptions opts = nullptr;
  LiteRtStatus s = LiteRtCreateOptions(&opts);
  if (s != kLiteRtStatusOk) { *op = "CreateOptions"; return s; }
  s = LiteRtSetOptionsHardwareAccelerators(opts, spec.accelerators);
  *op = "SetOptionsHardwareAccelerators";
  struct Opaque { const char* id; std::string toml; const char* op; };
  const bool gpu = spec.accelerators & kLiteRtHwAcceleratorGpu;
  const Opaque all[3] = {
      {AUDIOGEN_LITERT_CPU_OPTIONS_ID, spec.toml, "AddOpaqueOptions(cpu)"},
      {AUDIOGEN_LITERT_RUNTIME_OPTIONS_ID,
       std::string(buffer_reporter ? "error_reporter_mode = 2\n" : "") + (spec.profile ? "enable_profiling = true\n" : ""),
       "AddOpaqueOptions(runtime)"},
      {AUDIOGEN_LITERT_GPU_OPTIONS_ID, gpu ? spec.gpu_toml : "", "AddOpaqueOptions(gpu)"},
  };
  for (const Opaque& o : all) {
    if (s != kLiteRtStatusOk || o.toml.empty()) continue;
    char* payload = strdup(o.toml.c_str());
    LiteRtOpaqueOptions opaque = nullptr;
    s = LiteRtCreateOpaqueOptions(o.id, payload, free, &opaque);
    *op = o.op;
    if (s != kLiteRtStatusOk) {
      free(payload);
      continue;
    }
    s = LiteRtAddOpaqueOptions(opts, opaque);
    if (s != kLiteRtStatusOk) LiteRtDestroyOpaqueOptions(opaque);
  }
  if (s == kLiteRtStatusOk && snake) {
    s = LiteRtAddCustomOpKernelOption(opts, AUDIOGEN_SNAKE_OP, AUDIOGEN_SNAKE_VERSION, audiogen::SnakeKernel(), snake);
    *op = "AddCustomOpKernelOption(" AUDIOGEN_SNAKE_OP ")";
  }
  if (s == kLiteRtStatusOk && snake) {
    s = LiteRtAddCustomOpKernelOption(opts, AUDIOGEN_ADD_SNAKE_OP, AUDIOGEN_ADD_SNAKE_VERSION,
                                      audiogen::AddSnakeKernel(), snake);
    *op = "AddCustomOpKernelOption(" AUDIOGEN_ADD_SNAKE_OP ")";
  }
  if (s == kLiteRtStatusOk) {
    s = LiteRtCreateCompiledModel(env, model, opts, out);
    *op = "CreateCompiledModel";
    if (s != kLiteRtStatusOk) *out = nullptr;
  }
  if (s == kLiteRtStatusOk)
    *kept = opts;
  else
    LiteRtDestroyOptions(opts);
  return s;
}

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, LoadSpec spec, Napi::Value keep_alive)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), spec_(std::move(spec)) {
    if (keep_alive.IsObject()) keep_ = Napi::Persistent(keep_alive.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    state_ = new ModelState();
    {
      std::unique_ptr<StderrCapture> filter;
      if (!spec_.drop_stderr.empty() || Gpu()) {
        filter = std::make_unique<StderrCapture>(spec_.drop_stderr);
        if (!filter->Start()) filter.reset();
      }
      CreateAndCompile();
      if (filter && Gpu()) load_log_ = filter->Stop();
    }  // filter stopped: the retry below may capture stderr itself
    if (status_ != kLiteRtStatusOk && op_ == "CreateCompiledModel") {
      // What LiteRT reported went to the reporter of a compiled model that no longer exists. Compile again
      // with the default reporter, which prints to stderr, and capture that (or just let it print).
      LiteRtEnvironment env = state_->env;
      if (spec_.capture_stderr) {
        StderrCapture capture;
        bool on = capture.Start();
        status_ = Compile(env, state_->model, spec_, false, state_->snake.get(), &state_->compiled, &state_->options, &op_);
        if (on) {
          captured_ = capture.Stop();
          has_captured_ = true;
        }
      } else {
        status_ = Compile(env, state_->model, spec_, false, state_->snake.get(), &state_->compiled, &state_->options, &op_);
      }
    }
    if (status_ != kLiteRtStatusOk) return;
    bool full = false;
    if (LiteRtCompiledModelIsFullyAccelerated(state_->compiled, &full) == kLiteRtStatusOk)
      state_->fully_accelerated = full;
    LiteRtSetCompiledModelCancellationFunction(state_->compiled, state_, CheckCancelled);
    if (spec_.profile) {
      status_ = LiteRtCompiledModelGetProfiler(state_->compiled, &state_->profiler);
      if (status_ == kLiteRtStatusOk) status_ = LiteRtStartProfiler(state_->profiler);
      if (status_ != kLiteRtStatusOk) {
        op_ = "CompiledModelGetProfiler / StartProfiler (profile)";
        return;
      }
    }
#ifdef __linux__
    // Before tensors are allocated: XNNPACK has packed its weights, LiteRT's own kernels have not been
    // prepared yet (so they read nothing so far), and the copy is gone before the activations arrive.
    const int fd = spec_.memfd >= 0 ? spec_.memfd : state_->memfd;
    if (fd >= 0 && !spec_.release.empty() && !Gpu()) {
      state_->released_bytes = ReleasePackedWeights(fd, spec_.release, state_->fully_accelerated);
      if (state_->released_bytes) state_->allocated_after_release = MemfdAllocated(fd);
    }
#endif
    // Allocate now so that unresolved/unsupported ops fail at load rather than at the first run.
    for (size_t si = 0; si < state_->signatures.size(); si++) {
      size_t n = state_->signatures[si].outputs.size();
      if (n == 0) continue;
      std::vector<LiteRtLayout> layouts(n);
      status_ = LiteRtGetCompiledModelOutputTensorLayouts(state_->compiled, si, n, layouts.data(), true);
      if (status_ != kLiteRtStatusOk) { op_ = "prepare (allocate tensors)"; break; }
      if (!std::all_of(layouts.begin(), layouts.end(), RankOk)) {
        status_ = kLiteRtStatusErrorUnsupported;
        op_ = "prepare (an output has more than " + std::to_string(AUDIOGEN_LITERT_MAX_RANK) + " dimensions)";
        break;
      }
    }
#ifdef __linux__
    if (status_ == kLiteRtStatusOk && state_->released_bytes && MemfdAllocated(fd) > state_->allocated_after_release) {
      status_ = kLiteRtStatusErrorRuntimeFailure;  // not expected: see ReleasePackedWeights
      op_ = "prepare read weights that were freed after compile (load with releasePackedWeights: false)";
    }
#endif
    // Compile and prepare messages (e.g. XNNPACK refusing a node), on failure and on success.
    messages_ = TakeErrorMessages(state_->compiled);
    if (spec_.echo_errors) EchoToStderr(messages_);
    if (status_ != kLiteRtStatusOk) return;
    // A loaded model owns the memfd of its path (copyToMemfd); a failed load leaves it to the caller.
    if (state_->memfd < 0 && spec_.memfd >= 0) state_->memfd = spec_.memfd;
  }

  bool Gpu() const { return spec_.accelerators & kLiteRtHwAcceleratorGpu; }
  LiteRtStatus ModelEnv(LiteRtEnvironment* env) { return Gpu() ? GetGpuEnv(spec_.gpu_dir, env) : GetEnv(env); }

  // Creates the model and compiles it with the buffer reporter (sets status_/op_).
  void CreateAndCompile() {
    LiteRtEnvironment env = nullptr;
    if ((status_ = ModelEnv(&env)) != kLiteRtStatusOk) { op_ = "CreateEnvironment"; return; }
    state_->env = env;
    state_->on_gpu = Gpu();
#ifdef __linux__
    // Bytes are loaded through a private memfd and LiteRtCreateModelFromFile: that path checks the
    // flatbuffer, LiteRtCreateModelFromBuffer does not (it crashed on mutated files our verifier accepts).
    if (spec_.path.empty() && spec_.bytes) {
      int fd = MemfdWithBytes(spec_.bytes, spec_.byte_length);
      if (fd >= 0) {
        state_->memfd = fd;
        spec_.path = "/proc/self/fd/" + std::to_string(fd);
      }
    }
#endif
    if (!spec_.path.empty()) {
      status_ = LiteRtCreateModelFromFile(env, spec_.path.c_str(), &state_->model);
      op_ = "CreateModelFromFile";
    } else {
      status_ = LiteRtCreateModelFromBuffer(env, spec_.bytes, spec_.byte_length, &state_->model);
      op_ = "CreateModelFromBuffer";
    }
    if (status_ != kLiteRtStatusOk) return;
    if ((status_ = ReadSignatures(state_->model, &state_->signatures, &op_)) != kLiteRtStatusOk) return;
    state_->echo_errors = spec_.echo_errors;
    if (spec_.snake_threads > 0) {
      state_->snake = std::make_unique<audiogen::SnakeState>();
      state_->snake->threads = spec_.snake_threads;
    }
    status_ = Compile(env, state_->model, spec_, true, state_->snake.get(), &state_->compiled, &state_->options, &op_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (status_ != kLiteRtStatusOk) {
      delete state_;
      state_ = nullptr;
      Napi::Error e = StatusError(env, op_, status_, messages_, has_captured_ ? &captured_ : nullptr);
      if (Gpu()) e.Set("loadLog", Napi::String::New(env, load_log_));
      deferred_.Reject(e.Value());
      return;
    }
    const int state_memfd_ = state_->memfd;
    fully_ = state_->fully_accelerated;
    released_ = state_->released_bytes;
    Napi::Object obj = env.GetInstanceData<Napi::FunctionReference>()->New({Napi::External<ModelState>::New(env, state_)});
    state_ = nullptr;
    // Model-from-buffer needs the bytes alive (a model read from a memfd does not).
    if (!keep_.IsEmpty() && state_memfd_ < 0) obj.Set("_bytes", keep_.Value());
    obj.Set("loadMessages", Napi::String::New(env, messages_));
    obj.Set("fullyAccelerated", Napi::Boolean::New(env, fully_));
    obj.Set("releasedBytes", Napi::Number::New(env, static_cast<double>(released_)));
    if (Gpu()) obj.Set("loadLog", Napi::String::New(env, load_log_));
    deferred_.Resolve(obj);
  }

  void OnError(const Napi::Error& e) override {
    delete state_;
    state_ = nullptr;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  LoadSpec spec_;
  Napi::ObjectReference keep_;
  ModelState* state_ = nullptr;
  LiteRtStatus status_ = kLiteRtStatusOk;
  std::string op_;
  std::string messages_;  // from the buffer error reporter
  std::string captured_;  // stderr of the retried compile
  bool has_captured_ = false;
  std::string load_log_;  // GPU loads: everything printed on fd 2 while the model was created and compiled
  bool fully_ = false;
  uint64_t released_ = 0;
};

// load({ path?: string, bytes?: Uint8Array, toml: string, logSeverity?, captureStderr?, echoErrors?,
//        dropStderr?: string[], snakeThreads?: number, profile?: boolean })
//   -> Promise<NativeModel>
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "load(spec) expects an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  LoadSpec spec;
  Napi::Value keep = env.Undefined();
  if (o.Get("path").IsString()) {
    spec.path = o.Get("path").As<Napi::String>().Utf8Value();
  } else if (o.Get("bytes").IsTypedArray()) {
    Napi::Uint8Array b = o.Get("bytes").As<Napi::Uint8Array>();
    spec.bytes = b.Data();
    spec.byte_length = b.ByteLength();
    keep = b;
  } else {
    Napi::TypeError::New(env, "load(spec) needs path or bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (o.Get("memfd").IsNumber()) spec.memfd = o.Get("memfd").As<Napi::Number>().Int32Value();
  if (o.Get("release").IsArray()) {
    Napi::Array a = o.Get("release").As<Napi::Array>();
    for (uint32_t i = 0; i + 1 < a.Length(); i += 2) {
      double off = a.Get(i).ToNumber().DoubleValue(), len = a.Get(i + 1).ToNumber().DoubleValue();
      if (off >= 0 && len > 0 && off + len <= 9007199254740991.0)
        spec.release.emplace_back(static_cast<uint64_t>(off), static_cast<uint64_t>(len));
    }
  }
  if (o.Get("toml").IsString()) spec.toml = o.Get("toml").As<Napi::String>().Utf8Value();
  if (o.Get("captureStderr").IsBoolean()) spec.capture_stderr = o.Get("captureStderr").As<Napi::Boolean>().Value();
  if (o.Get("echoErrors").IsBoolean()) spec.echo_errors = o.Get("echoErrors").As<Napi::Boolean>().Value();
  if (o.Get("dropStderr").IsArray()) {
    Napi::Array a = o.Get("dropStderr").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (v.IsString() && !v.As<Napi::String>().Utf8Value().empty())
        spec.drop_stderr.push_back(v.As<Napi::String>().Utf8Value());
    }
  }
  if (o.Get("accelerators").IsNumber()) spec.accelerators = o.Get("accelerators").As<Napi::Number>().Int32Value();
  if (o.Get("gpuDir").IsString()) spec.gpu_dir = o.Get("gpuDir").As<Napi::String>().Utf8Value();
  if (o.Get("gpuToml").IsString()) spec.gpu_toml = o.Get("gpuToml").As<Napi::String>().Utf8Value();
  if (o.Get("profile").IsBoolean()) spec.profile = o.Get("profile").As<Napi::Boolean>().Value();
  if (o.Get("snakeThreads").IsNumber())
    spec.snake_threads = std::clamp(o.Get("snakeThreads").As<Napi::Number>().Int32Value(), 0, 256);
  if (o.Get("logSeverity").IsNumber()) {
    std::lock_guard<std::mutex> lock(g_env_mutex);
    if (!g_env) g_log_severity = o.Get("logSeverity").As<Napi::Number>().Int32Value();
  }
  auto* w = new LoadWorker(env, std::move(spec), keep);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------------------------------------------------------------- run

struct Binding {
  LiteRtRankedTensorType type;
  void* data = nullptr;  // host memory handed to LiteRT
  size_t size = 0;
  void* owned = nullptr;  // aligned copy we allocated (inputs) or output memory
  bool caller = false;    // output written into the caller's typed array (`data`), nothing allocated
};

// Output blocks are external to V8: report their size so that GC pressure reflects them (else a loop of
// runs could pile up unreferenced outputs until an unrelated GC).
void FreeOutput(Napi::Env env, void* p, size_t* size) {
  AlignedFree(p);
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(*size));
  delete size;
}

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, Napi::Object model_obj, ModelState* st, size_t sig, std::vector<Binding> ins,
            std::vector<Binding> dsts, std::vector<Napi::ObjectReference> keep)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        st_(st),
        sig_(sig),
        ins_(std::move(ins)),
        dsts_(std::move(dsts)),
        keep_(std::move(keep)) {
    model_ref_ = Napi::Persistent(model_obj);
    st_->busy++;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  // Diagnostic (AUDIOGEN_LITERT_MAIN_THREAD_RUN=1): run on the JS thread instead of a libuv worker.
  void RunHere() {
    Execute();
    OnOK();
  }

  void Execute() override {
    ExecuteRun();
    // Whatever LiteRT reported during this run (read-and-clear, so the next run starts clean).
    messages_ = TakeErrorMessages(st_->compiled);
    if (st_->echo_errors) EchoToStderr(messages_);
  }

  void ExecuteRun() {
    const auto& meta = st_->signatures[sig_];
    op_ = "run";
    if (st_->cancel.load()) { status_ = kLiteRtStatusCancelled; return; }
    if (st_->bound_inputs.size() < st_->signatures.size()) {
      st_->bound_inputs.resize(st_->signatures.size());
      st_->bound_outputs.resize(st_->signatures.size());
    }
    auto& bin = st_->bound_inputs[sig_];
    auto& bout = st_->bound_outputs[sig_];
    bin.resize(ins_.size());
    std::vector<LiteRtTensorBuffer> in_bufs, out_bufs;
    for (size_t i = 0; i < ins_.size(); i++) {
      status_ = Bind(bin[i], ins_[i].type, ins_[i].size, st_->env, st_->compiled, sig_, i, true);
      if (status_ != kLiteRtStatusOk) { op_ = "bind input"; return; }
      status_ = CopyIn(bin[i], ins_[i].data, ins_[i].size);
      if (status_ != kLiteRtStatusOk) { op_ = "write input"; return; }
      in_bufs.push_back(bin[i].buffer);
    }
    // Output shapes may depend on resized inputs: ask LiteRT for the current layouts after a resize.
    size_t nout = meta.outputs.size();
    if (st_->out_layouts.size() < st_->signatures.size()) {
      st_->out_layouts.resize(st_->signatures.size());
      st_->layouts_stale.assign(st_->signatures.size(), true);
    }
    std::vector<LiteRtLayout>& layouts = st_->out_layouts[sig_];
    if (st_->layouts_stale[sig_] || layouts.size() != nout) {
      layouts.assign(nout, LiteRtLayout{});
      if (nout > 0) {
        status_ = LiteRtGetCompiledModelOutputTensorLayouts(st_->compiled, sig_, nout, layouts.data(), true);
        if (status_ != kLiteRtStatusOk) { op_ = "GetCompiledModelOutputTensorLayouts"; return; }
      }
      for (size_t i = 0; i < nout; i++) {
        if (!RankOk(layouts[i])) {
          status_ = kLiteRtStatusErrorUnsupported;
          op_ = "output " + meta.outputs[i].name + " has rank " + std::to_string(layouts[i].rank) + " (at most " +
                std::to_string(AUDIOGEN_LITERT_MAX_RANK) + ")";
          layouts.clear();
          return;
        }
      }
      st_->layouts_stale[sig_] = false;
    }
    bout.resize(nout);
    for (size_t i = 0; i < nout; i++) {
      LiteRtRankedTensorType t = meta.outputs[i].type;
      t.layout = layouts[i];
      t.layout.has_strides = false;
      status_ = Bind(bout[i], t, ByteSize(t), st_->env, st_->compiled, sig_, i, false);
      if (status_ != kLiteRtStatusOk) { op_ = "bind output"; return; }
      out_bufs.push_back(bout[i].buffer);
    }
    status_ = LiteRtRunCompiledModel(st_->compiled, sig_, in_bufs.size(), in_bufs.data(), out_bufs.size(), out_bufs.data());
    op_ = "RunCompiledModel";
    // LiteRT reports an interrupted invoke as a runtime failure; a run that completed after the cancel
    // request is reported as cancelled too (the caller asked for it to be dropped).
    if (st_->cancel.load()) {
      // A GPU run returns once its work is queued, and LiteRT may stop between queueing and returning: the
      // queued work ends when the outputs are locked. Wait for it before dropping the run, or the next run's
      // output read fails (status 3) while this one is still in flight.
      if (st_->on_gpu) {
        for (size_t i = 0; i < nout; i++) {
          void* p = nullptr;
          if (LiteRtLockTensorBuffer(bout[i].buffer, &p, kLiteRtTensorBufferLockModeRead) == kLiteRtStatusOk)
            LiteRtUnlockTensorBuffer(bout[i].buffer);
        }
      }
      status_ = kLiteRtStatusCancelled;
    }
    if (status_ != kLiteRtStatusOk) return;
    if (st_->snake && st_->snake->failed.exchange(false)) {
      status_ = kLiteRtStatusErrorRuntimeFailure;
      op_ = "RunCompiledModel (an " AUDIOGEN_SNAKE_OP " or " AUDIOGEN_ADD_SNAKE_OP
            " node got inputs it cannot compute: float32 x [..., C] (and an addend shaped like x), alpha [C], "
            "inv_beta [C])";
      return;
    }
#ifdef __linux__
    // Freed weight pages read back in (as zeros) mean a node used weights we freed: never hand out such
    // outputs. Not expected (see ReleasePackedWeights); checked on every run, one fstat.
    if (st_->released_bytes && MemfdAllocated(st_->memfd) > st_->allocated_after_release) {
      status_ = kLiteRtStatusErrorRuntimeFailure;
      op_ = "run read weights that were freed after compile (load with releasePackedWeights: false)";
      return;
    }
#endif
    // Hand each output to JS in its own allocation (an external ArrayBuffer; one copy, no JS-heap copy).
    outs_.resize(nout);
    for (size_t i = 0; i < nout; i++) {
      Binding& o = outs_[i];
      o.type = bout[i].type;
      o.size = bout[i].size;
      // A caller-owned output (run options `outputs`): copied straight into it; no block is allocated, so
      // repeated runs cause no page faults or GC work (a fresh 1 MB block per run costs ~4 % on a 200 ms run).
      if (i < dsts_.size() && dsts_[i].data) {
        if (dsts_[i].size != o.size) {
          bad_output_ = true;
          status_ = kLiteRtStatusErrorInvalidArgument;
          op_ = "output " + meta.outputs[i].name + " buffer check (the given array has " +
                std::to_string(dsts_[i].size) + " bytes, the output has " + std::to_string(o.size) + ")";
          return;
        }
        status_ = CopyOut(bout[i], dsts_[i].data, o.size);
        if (status_ != kLiteRtStatusOk) { op_ = "read output"; return; }
        o.caller = true;
        continue;
      }
      o.owned = AlignedAlloc(o.size == 0 ? kAlign : o.size);
      if (!o.owned) {
        status_ = kLiteRtStatusErrorMemoryAllocationFailure;
        op_ = "alloc output";
        return;
      }
      status_ = CopyOut(bout[i], o.owned, o.size);
      if (status_ != kLiteRtStatusOk) { op_ = "read output"; return; }
    }
    // A GPU run really ends in the output reads above: a cancel that came meanwhile drops the run too.
    if (st_->cancel.load()) {
      status_ = kLiteRtStatusCancelled;
      op_ = "RunCompiledModel";
      return;
    }
    if (getenv("AUDIOGEN_LITERT_FRESH_BUFFERS")) st_->ReleaseBuffers();  // A/B switch for the benchmark
  }

  void Finish() {
    for (auto& b : ins_) AlignedFree(b.owned);
    ins_.clear();
    dsts_.clear();
    keep_.clear();
    st_->busy--;
    if (st_->dispose_pending && st_->busy.load() == 0) {
      st_->Destroy();
      NativeModel* m = NativeModel::Unwrap(model_ref_.Value());
      if (!m || m->state() != st_) delete st_;  // the JS wrapper was collected: we own the state now
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Finish();
    if (status_ != kLiteRtStatusOk) {
      for (auto& o : outs_) AlignedFree(o.owned);
      Napi::Error e = StatusError(env, op_, status_, messages_);
      if (status_ == kLiteRtStatusCancelled) e.Set("code", "ABORTED");
      if (bad_output_) e.Set("code", "INVALID_ARGUMENT");  // a caller's output array of the wrong size
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Array arr = Napi::Array::New(env, outs_.size());
    for (size_t i = 0; i < outs_.size(); i++) {
      Binding& o = outs_[i];
      Napi::Object r = Napi::Object::New(env);
      Napi::Array shape = Napi::Array::New(env, o.type.layout.rank);
      for (unsigned d = 0; d < o.type.layout.rank; d++) shape.Set(d, o.type.layout.dimensions[d]);
      r.Set("shape", shape);
      r.Set("elementType", static_cast<int>(o.type.element_type));
      if (o.caller) {  // written into the caller's array; JS returns that tensor
        r.Set("data", env.Null());
        arr.Set(i, r);
        continue;
      }
      Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(o.size));
      r.Set("data", Napi::ArrayBuffer::New(env, o.owned, o.size, FreeOutput, new size_t(o.size)));
      o.owned = nullptr;
      arr.Set(i, r);
    }
    deferred_.Resolve(arr);
  }

  void OnError(const Napi::Error& e) override {
    Finish();
    for (auto& o : outs_) AlignedFree(o.owned);
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ModelState* st_;
  size_t sig_;
  std::vector<Binding> ins_;
  std::vector<Binding> dsts_;  // caller-owned outputs (data == nullptr: allocate)
  std::vector<Binding> outs_;
  std::vector<Napi::ObjectReference> keep_;
  Napi::ObjectReference model_ref_;
  LiteRtStatus status_ = kLiteRtStatusOk;
  std::string op_;
  std::string messages_;
  bool bad_output_ = false;
};

// run(signatureIndex, inputs: (TypedArray)[] in signature order, outputs?: (TypedArray | undefined)[])
//   -> Promise<{shape, elementType, data}[]>; data is null for an output written into the given array.
Napi::Value NativeModel::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckUsable(env)) return env.Undefined();
  if (state_->busy.load() > 0) {
    Napi::Error::New(env, "a run is already in progress on this model").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t si = info[0].As<Napi::Number>().Uint32Value();
  if (si >= state_->signatures.size()) {
    Napi::RangeError::New(env, "bad signature index").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const auto& meta = state_->signatures[si];
  Napi::Array arr = info[1].As<Napi::Array>();
  if (arr.Length() != meta.inputs.size()) {
    Napi::RangeError::New(env, "wrong number of inputs").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<Binding> ins(meta.inputs.size());
  std::vector<Napi::ObjectReference> keep;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray()) {
      for (auto& b : ins) AlignedFree(b.owned);
      Napi::TypeError::New(env, "inputs must be typed arrays").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    Binding& b = ins[i];
    b.type = meta.inputs[i].type;
    b.type.layout.has_strides = false;
    size_t need = ByteSize(b.type);
    if (need != ta.ByteLength()) {
      for (auto& x : ins) AlignedFree(x.owned);
      Napi::RangeError::New(env, "input " + meta.inputs[i].name + " has " + std::to_string(ta.ByteLength()) +
                                     " bytes, the model needs " + std::to_string(need))
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    b.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    b.size = need;
    keep.push_back(Napi::Persistent(ta.As<Napi::Object>()));  // alive until the worker has copied it
  }
  std::vector<Binding> dsts(meta.outputs.size());
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array oa = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < oa.Length() && i < dsts.size(); i++) {
      Napi::Value v = oa.Get(i);
      if (v.IsUndefined() || v.IsNull()) continue;
      if (!v.IsTypedArray()) {
        for (auto& b : ins) AlignedFree(b.owned);
        Napi::TypeError::New(env, "outputs must be typed arrays").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      Napi::TypedArray ta = v.As<Napi::TypedArray>();
      dsts[i].data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      dsts[i].size = ta.ByteLength();  // checked against the output's size after the run, before copying
      keep.push_back(Napi::Persistent(ta.As<Napi::Object>()));  // alive until the worker has written it
    }
  }
  state_->cancel = false;
  auto* w = new RunWorker(env, Value(), state_, si, std::move(ins), std::move(dsts), std::move(keep));
  Napi::Promise p = w->Promise();
  static const bool main_thread = getenv("AUDIOGEN_LITERT_MAIN_THREAD_RUN") != nullptr;
  if (main_thread) {
    w->RunHere();
    delete w;
  } else {
    w->Queue();
  }
  return p;
}

// allocModelBuffer(bytes) -> ArrayBuffer over a 64-byte-aligned native block (freed when collected). JS reads
// a model file into it and passes it to load({bytes}): LiteRtCreateModelFromBuffer reads the model from this
// private copy for its whole life (it does not copy), so truncating or replacing the file cannot fault.
Napi::Value AllocModelBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 0 && n <= 9007199254740991.0)) {
    Napi::RangeError::New(env, "allocModelBuffer(bytes) needs a byte count").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t size = static_cast<size_t>(n);
  void* p = AlignedAlloc(size == 0 ? kAlign : size);
  if (!p) {
    Napi::Error e = Napi::Error::New(env, "cannot allocate " + std::to_string(size) + " bytes for the model");
    e.Set("code", "ENOMEM");
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(size));
  return Napi::ArrayBuffer::New(env, p, size, FreeOutput, new size_t(size));
}

// Test hook: _testTouchFd(fd, offset) -> bytes the kernel holds for fd after reading the byte at `offset`
// through a shared mapping, as LiteRT reads its model (-1 where unsupported).
Napi::Value TestTouchFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef __linux__
  const int fd = info[0].ToNumber().Int32Value();
  const uint64_t off = static_cast<uint64_t>(info[1].ToNumber().DoubleValue());
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(off / page * page));
  if (p != MAP_FAILED) {
    volatile const uint8_t* b = static_cast<const uint8_t*>(p);
    (void)b[off % page];
    munmap(p, page);
  }
  return Napi::Number::New(env, static_cast<double>(MemfdAllocated(fd)));
#else
  return Napi::Number::New(env, -1);
#endif
}

// copyToMemfd(path) -> { fd, path } | null (no memfds here). Copies a regular file into a private memfd in
// the kernel (sendfile; no copy through JS): load({ path, memfd: fd }) then maps this copy, so the model
// survives its file being truncated or replaced, and what JS verifies at `path` is what LiteRT loads.
// closeFd(fd) releases a copy that is not loaded.
Napi::Value CopyToMemfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef __linux__
  std::string src = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  auto fail = [&](const std::string& what, int err) {
    Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
    e.Set("code", "IO_ERROR");
    e.Set("errno", Napi::Number::New(env, err));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  };
  int in = open(src.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) return fail("cannot open " + src, errno);
  struct stat st;
  if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    close(in);
    return fail(src + " is not a regular file", err ? err : EINVAL);
  }
  int fd = static_cast<int>(syscall(SYS_memfd_create, "audiogen-model", 1u /* MFD_CLOEXEC */));
  if (fd < 0) {
    close(in);
    return env.Null();
  }
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(fd, in, &off, static_cast<size_t>(std::min<off_t>(st.st_size - off, 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(in);
      close(fd);
      Napi::Error e = Napi::Error::New(env, src + " changed while it was copied (" + std::to_string(off) + " of " +
                                                std::to_string(st.st_size) + " bytes): " + strerror(err));
      e.Set("code", "IO_ERROR");
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  close(in);
  Napi::Object r = Napi::Object::New(env);
  r.Set("fd", fd);
  r.Set("path", "/proc/self/fd/" + std::to_string(fd));
  r.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  return r;
#else
  return env.Null();
#endif
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) FdClose(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// Test hook for StderrCapture (src/litert-errors.test.ts): captures while writing `bytes` bytes of
// numbered lines to fd 2 from this thread (more than a pipe holds: the drain thread must keep up), then
// returns { started, text } with the kept text.
Napi::Value TestStderrCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t bytes = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : 0;
  StderrCapture capture;
  bool started = capture.Start();
  char line[64];
  for (size_t done = 0, i = 0; done < bytes; i++) {
    int n = snprintf(line, sizeof(line), "capture-test line %08zu\n", i);
    size_t k = std::min(static_cast<size_t>(n), bytes - done);
    WriteAll(2, line, k);
    done += k;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("started", started);
  r.Set("text", capture.Stop());
  return r;
}

// libLiteRt.dll (2.3.0) does not export LiteRT's accelerator listing, which the .so and .dylib do: on
// Windows those calls are looked up at run time (null when absent), so one source links everywhere.
#ifdef _WIN32
template <typename F>
F LiteRtOptional(const char* name) {
  HMODULE h = GetModuleHandleA("libLiteRt.dll");
  return h ? reinterpret_cast<F>(reinterpret_cast<void*>(GetProcAddress(h, name))) : nullptr;
}
#define LITERT_OPTIONAL(fn) LiteRtOptional<decltype(&fn)>(#fn)
#else
#define LITERT_OPTIONAL(fn) (&fn)
#endif

// accelerators(gpuDir) -> [{ name, hardware }]: what LiteRT registered in the GPU environment (creating it
// with the accelerator library from gpuDir if no GPU load did yet). Throws with litertStatus on failure.
Napi::Value Accelerators(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "accelerators(gpuDir) expects a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const auto get_num = LITERT_OPTIONAL(LiteRtGetNumAccelerators);
  const auto get_accelerator = LITERT_OPTIONAL(LiteRtGetAccelerator);
  const auto get_name = LITERT_OPTIONAL(LiteRtGetAcceleratorName);
  const auto get_hardware = LITERT_OPTIONAL(LiteRtGetAcceleratorHardwareSupport);
  if (!get_num || !get_accelerator || !get_name || !get_hardware) {
    StatusError(env, "GetNumAccelerators (not exported by this LiteRT library)", kLiteRtStatusErrorUnsupported)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  LiteRtEnvironment e = nullptr;
  LiteRtStatus s = GetGpuEnv(info[0].As<Napi::String>().Utf8Value(), &e);
  LiteRtParamIndex n = 0;
  if (s == kLiteRtStatusOk) s = get_num(e, &n);
  if (s != kLiteRtStatusOk) {
    StatusError(env, "GetNumAccelerators", s).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  for (LiteRtParamIndex i = 0; i < n; i++) {
    LiteRtAccelerator a = nullptr;
    const char* name = nullptr;
    LiteRtHwAcceleratorSet hw = 0;
    if (get_accelerator(e, i, &a) != kLiteRtStatusOk) continue;
    get_name(a, &name);
    get_hardware(a, &hw);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", name ? name : "");
    o.Set("hardware", static_cast<int>(hw));
    out.Set(out.Length(), o);
  }
  return out;
}

// x86-64: one CPUID leaf as [eax, ebx, ecx, edx], and XCR0 (which register states the OS saves) as leaf
// 0xFFFFFFFF's eax/edx pair; the decoding is in host.ts. This is what XNNPACK reads to pick its kernels, on
// every OS (Windows and macOS have no /proc/cpuinfo). Absent on other architectures.
#if defined(__x86_64__)
Napi::Value Cpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "cpuid(leaf, subleaf) expects two numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t leaf = info[0].As<Napi::Number>().Uint32Value();
  const uint32_t subleaf = info[1].As<Napi::Number>().Uint32Value();
  uint32_t r[4] = {0, 0, 0, 0};
  if (leaf == 0xFFFFFFFFu) {
    uint32_t a = 0, b = 0, c = 0, d = 0;
    __cpuid(1, a, b, c, d);
    if (c & (1u << 27)) __asm__ volatile("xgetbv" : "=a"(r[0]), "=d"(r[3]) : "c"(0));  // OSXSAVE
  } else {
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
  }
  Napi::Array out = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 4; i++) out.Set(i, Napi::Number::New(env, r[i]));
  return out;
}
#endif

// Node unloads an addon when the last environment that loaded it (e.g. a worker thread) exits. LiteRT and
// XNNPACK leave exit-time handlers and pool threads that point into their code, so an unloaded libLiteRt
// crashes the process later, at exit. Pinning this module (which holds libLiteRt) keeps both mapped.
void PinThisModule() {
#ifdef _WIN32
  HMODULE self = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                     reinterpret_cast<LPCWSTR>(&PinThisModule), &self);
#else
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&PinThisModule), &info) && info.dli_fname) {
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // adds the NODELETE flag, no new load
  }
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  PinThisModule();
  exports.Set("accelerators", Napi::Function::New(env, Accelerators));
#if defined(__x86_64__)
  exports.Set("cpuid", Napi::Function::New(env, Cpuid));
#endif
  NativeModel::Init(env, exports);
  exports.Set("_testStderrCapture", Napi::Function::New(env, TestStderrCapture));
  exports.Set("load", Napi::Function::New(env, Load));
  exports.Set("allocModelBuffer", Napi::Function::New(env, AllocModelBuffer));
  exports.Set("copyToMemfd", Napi::Function::New(env, CopyToMemfd));
  exports.Set("_testTouchFd", Napi::Function::New(env, TestTouchFd));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("abiLayoutBytes", Napi::Number::New(env, sizeof(LiteRtRankedTensorType)));
  exports.Set("maxRank", Napi::Number::New(env, AUDIOGEN_LITERT_MAX_RANK));
  return exports;
}

}  // namespace

NODE_API_MODULE(audiogen_litert, Init)

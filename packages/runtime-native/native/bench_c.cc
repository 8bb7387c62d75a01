#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>
// Paired-bench server for scripts/bench.mjs: the same LiteRT C API calls the addon makes (CPU-only
// environment, "xnnpack" opaque CPU options, managed buffers from requirements), from a plain C++ process,
// so that binding overhead (node vs this) and build differences (this vs Python) can be told apart.
//   bench_c <model.tflite> <threads>   then one "run" line per timed run on stdin.
#include "litert_c_api.h"
int main(int argc, char** argv) {
  LiteRtEnvOption opts[2]; memset(opts, 0, sizeof(opts));
  opts[0].tag = kLiteRtEnvOptionTagAutoRegisterAccelerators; opts[0].value.type = kLiteRtAnyTypeInt; opts[0].value.int_value = 1;
  opts[1].tag = kLiteRtEnvOptionTagMinLoggerSeverity; opts[1].value.type = kLiteRtAnyTypeInt; opts[1].value.int_value = 3;
  LiteRtEnvironment env; LiteRtCreateEnvironment(2, opts, &env);
  LiteRtModel model; if (LiteRtCreateModelFromFile(env, argv[1], &model)) return 1;
  LiteRtSignature sig; LiteRtGetModelSignature(model, 0, &sig);
  LiteRtOptions o; LiteRtCreateOptions(&o); LiteRtSetOptionsHardwareAccelerators(o, 1);
  std::string toml = "num_threads = " + std::string(argv[2]) + "\n";
  LiteRtOpaqueOptions cpu; LiteRtCreateOpaqueOptions("xnnpack", strdup(toml.c_str()), free, &cpu); LiteRtAddOpaqueOptions(o, cpu);
  LiteRtCompiledModel cm; if (LiteRtCreateCompiledModel(env, model, o, &cm)) return 2;
  std::vector<LiteRtTensorBuffer> ins, outs;
  for (int dir = 0; dir < 2; dir++) {
    LiteRtParamIndex n; dir ? LiteRtGetNumSignatureOutputs(sig, &n) : LiteRtGetNumSignatureInputs(sig, &n);
    for (size_t i = 0; i < n; i++) {
      LiteRtTensor t; dir ? LiteRtGetSignatureOutputTensorByIndex(sig, i, &t) : LiteRtGetSignatureInputTensorByIndex(sig, i, &t);
      LiteRtRankedTensorType tt; memset(&tt, 0, sizeof tt); LiteRtGetRankedTensorType(t, &tt);
      LiteRtTensorBufferRequirements req; dir ? LiteRtGetCompiledModelOutputBufferRequirements(cm, 0, i, &req) : LiteRtGetCompiledModelInputBufferRequirements(cm, 0, i, &req);
      LiteRtTensorBuffer b; if (LiteRtCreateManagedTensorBufferFromRequirements(env, &tt, req, &b)) return 3;
      if (!dir) { size_t cnt = 1; for (unsigned d = 0; d < tt.layout.rank; d++) cnt *= tt.layout.dimensions[d];
        void* p; LiteRtLockTensorBuffer(b, &p, kLiteRtTensorBufferLockModeWrite); for (size_t k = 0; k < cnt; k++) ((float*)p)[k] = sinf(0.001f * k); LiteRtUnlockTensorBuffer(b); }
      (dir ? outs : ins).push_back(b);
    }
  }
  LiteRtRunCompiledModel(cm, 0, ins.size(), ins.data(), outs.size(), outs.data());
  printf("{\"ready\":true,\"load_ms\":0}\n"); fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line) && line == "run") {
    auto t = std::chrono::steady_clock::now();
    timespec c0, c1; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    LiteRtRunCompiledModel(cm, 0, ins.size(), ins.data(), outs.size(), outs.data());
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    double cpu_ms = (c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) / 1e6;
    printf("{\"ms\":%f,\"cpu_ms\":%f}\n", ms, cpu_ms); fflush(stdout);
  }
  printf("{\"peak_rss_mb\":0}\n"); fflush(stdout);
  return 0;
}

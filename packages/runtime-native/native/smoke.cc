// Plain C++ check that libLiteRt.so serves: environment, model from file, CPU compile, run.
//   g++ -std=c++17 -O1 native/smoke.cc -Ivendor -Lvendor/linux-x64 -l:libLiteRt.so -Wl,-rpath,'$ORIGIN/vendor/linux-x64'
//   ./a.out fixtures/add_fc.tflite [threads] [xnnpack_flags]
// Fills every float input with 1.0 (other dtypes with 1) and prints the first outputs.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "litert_c_api.h"

#define CHECK(x)                                                           \
  do {                                                                     \
    LiteRtStatus s_ = (x);                                                 \
    if (s_ != kLiteRtStatusOk) {                                           \
      std::fprintf(stderr, "FAILED %s -> status %d\n", #x, (int)s_);       \
      return 1;                                                            \
    }                                                                      \
  } while (0)

static size_t elem_size(LiteRtElementType t) {
  switch (t) {
    case kLiteRtElementTypeInt64: case kLiteRtElementTypeFloat64: case kLiteRtElementTypeUInt64: return 8;
    case kLiteRtElementTypeFloat16: case kLiteRtElementTypeInt16: case kLiteRtElementTypeUInt16:
    case kLiteRtElementTypeBFloat16: return 2;
    case kLiteRtElementTypeInt8: case kLiteRtElementTypeUInt8: case kLiteRtElementTypeBool: return 1;
    default: return 4;
  }
}

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: smoke model.tflite [threads] [flags]\n"); return 2; }
  LiteRtEnvironment env = nullptr;
  CHECK(LiteRtCreateEnvironment(0, nullptr, &env));
  LiteRtModel model = nullptr;
  CHECK(LiteRtCreateModelFromFile(env, argv[1], &model));
  LiteRtParamIndex nsig = 0;
  CHECK(LiteRtGetNumModelSignatures(model, &nsig));
  LiteRtSignature sig = nullptr;
  CHECK(LiteRtGetModelSignature(model, 0, &sig));
  const char* key = nullptr;
  CHECK(LiteRtGetSignatureKey(sig, &key));
  std::printf("signatures: %zu, first: %s\n", nsig, key);

  LiteRtOptions opts = nullptr;
  CHECK(LiteRtCreateOptions(&opts));
  CHECK(LiteRtSetOptionsHardwareAccelerators(opts, kLiteRtHwAcceleratorCpu));
  std::string toml = "num_threads = " + std::string(argc > 2 ? argv[2] : "1") + "\n";
  if (argc > 3) toml += "flags = " + std::string(argv[3]) + "\n";
  char* payload = strdup(toml.c_str());
  LiteRtOpaqueOptions cpu = nullptr;
  CHECK(LiteRtCreateOpaqueOptions(AUDIOGEN_LITERT_CPU_OPTIONS_ID, payload, free, &cpu));
  CHECK(LiteRtAddOpaqueOptions(opts, cpu));
  LiteRtCompiledModel cm = nullptr;
  CHECK(LiteRtCreateCompiledModel(env, model, opts, &cm));
  LiteRtDestroyOptions(opts);

  std::vector<LiteRtTensorBuffer> ins, outs;
  std::vector<void*> mem;
  for (int dir = 0; dir < 2; dir++) {
    LiteRtParamIndex n = 0;
    CHECK(dir == 0 ? LiteRtGetNumSignatureInputs(sig, &n) : LiteRtGetNumSignatureOutputs(sig, &n));
    for (LiteRtParamIndex i = 0; i < n; i++) {
      LiteRtTensor t = nullptr;
      const char* name = nullptr;
      CHECK(dir == 0 ? LiteRtGetSignatureInputTensorByIndex(sig, i, &t) : LiteRtGetSignatureOutputTensorByIndex(sig, i, &t));
      CHECK(dir == 0 ? LiteRtGetSignatureInputName(sig, i, &name) : LiteRtGetSignatureOutputName(sig, i, &name));
      LiteRtRankedTensorType tt;
      CHECK(LiteRtGetRankedTensorType(t, &tt));
      size_t count = 1;
      std::printf("%s %s type=%d shape=[", dir ? "output" : "input", name, (int)tt.element_type);
      for (unsigned d = 0; d < tt.layout.rank; d++) { std::printf("%s%d", d ? "," : "", tt.layout.dimensions[d]); count *= tt.layout.dimensions[d]; }
      std::printf("]\n");
      size_t bytes = count * elem_size(tt.element_type);
      void* p = nullptr;
      if (posix_memalign(&p, 64, bytes + 64) != 0) return 1;
      std::memset(p, 0, bytes);
      if (dir == 0) {
        for (size_t k = 0; k < count; k++) {
          if (tt.element_type == kLiteRtElementTypeFloat32) ((float*)p)[k] = 1.0f;
          else if (tt.element_type == kLiteRtElementTypeInt64) ((int64_t*)p)[k] = 1;
          else if (tt.element_type == kLiteRtElementTypeInt32) ((int32_t*)p)[k] = 1;
        }
      }
      LiteRtTensorBuffer b = nullptr;
      CHECK(LiteRtCreateTensorBufferFromHostMemory(&tt, p, bytes, nullptr, &b));
      (dir == 0 ? ins : outs).push_back(b);
      mem.push_back(p);
    }
  }
  CHECK(LiteRtRunCompiledModel(cm, 0, ins.size(), ins.data(), outs.size(), outs.data()));
  for (size_t i = 0; i < outs.size(); i++) {
    void* p = nullptr;
    CHECK(LiteRtLockTensorBuffer(outs[i], &p, kLiteRtTensorBufferLockModeRead));
    std::printf("output %zu: %g %g %g\n", i, ((float*)p)[0], ((float*)p)[1], ((float*)p)[2]);
    CHECK(LiteRtUnlockTensorBuffer(outs[i]));
  }
  for (auto b : ins) LiteRtDestroyTensorBuffer(b);
  for (auto b : outs) LiteRtDestroyTensorBuffer(b);
  for (auto p : mem) free(p);
  LiteRtDestroyCompiledModel(cm);
  LiteRtDestroyModel(model);
  LiteRtDestroyEnvironment(env);
  std::printf("OK\n");
  return 0;
}

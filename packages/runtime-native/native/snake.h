// The Snake activation of audio decoders (Oobleck, BigVGAN): y = x + inv_beta[c] * sin(alpha[c] * x)^2,
// per channel c (the last dimension), as LiteRT custom ops:
// - "AudiogenSnake" version 1: inputs x (float32, [..., C]), alpha and inv_beta (float32, C values each), one
//   output shaped like x.
// - "AudiogenAddSnake" version 1: inputs a, b (float32, the same shape [..., C]), alpha, inv_beta; one output,
//   snake(a + b): a decoder block's last residual ADD and the Snake that alone reads its sum, in one pass.
//
// Why: a float graph spells Snake MUL, SIN, SQUARE, MUL, ADD, five passes over a decoder's largest
// activations (a quarter of an int8 decoder's time); here it is one pass, on the model's thread count.
// The .tflite files stay standard: @audiogen/runtime-native fuses the ops into these in the copy it loads
// (src/fuse.ts), and only when the addon registers the kernels.
//
// sin^2 has period pi, so u = alpha*x is reduced by the nearest multiple of pi (Cody-Waite, three parts
// whose products with |k| <= 4096 are exact) and sin evaluated by its Taylor polynomial to degree 11 on
// [-pi/2, pi/2] (error < 6e-8, about one float ulp of 1). A row holding any |u| beyond 4096*pi, an
// infinity or a NaN is computed again in double with std::sin, so every input gets the plain formula.
#ifndef AUDIOGEN_SNAKE_H_
#define AUDIOGEN_SNAKE_H_

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "litert_c_api.h"

namespace audiogen {

#define AUDIOGEN_SNAKE_OP "AudiogenSnake"
#define AUDIOGEN_SNAKE_VERSION 1
#define AUDIOGEN_ADD_SNAKE_OP "AudiogenAddSnake"
#define AUDIOGEN_ADD_SNAKE_VERSION 1

// One per compiled model (LiteRT hands the same user data to every node of the op).
struct SnakeState {
  int threads = 1;
  // A Run that could not compute (bad inputs) cannot fail the model through LiteRT (its dispatcher drops
  // the status): it sets this, and the addon fails the run with it.
  std::atomic<bool> failed{false};
};

namespace snake_detail {

constexpr int kLanes = 16;
typedef float VecF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VecI __attribute__((vector_size(kLanes * sizeof(int32_t))));

constexpr float kInvPi = 0.31830987334251404f;
constexpr float kPi1 = 3.140625f;                   // 8 significant bits
constexpr float kPi2 = 0.0009675025939941406f;      // 12 significant bits
constexpr float kPi3 = 1.5099580252808664e-07f;     // the rest of pi
constexpr float kRound = 12582912.0f;               // 1.5 * 2^23: (v + kRound) - kRound rounds v to an integer
constexpr float kLimit = 4096.0f * 3.14159265358979f;  // beyond: k*kPi2 is no longer exact
constexpr int32_t kLimitBits = 0x46490fdb;              // the bits of kLimit (a positive float)

inline float ScalarSnake(float x, float a, float ib) {
  const double s = std::sin(static_cast<double>(a) * static_cast<double>(x));
  return static_cast<float>(static_cast<double>(x) + static_cast<double>(ib) * s * s);
}

// What one call reads and writes: y = snake(x + addend), or y = snake(x) when addend is null.
struct SnakeArgs {
  const float* x;
  const float* addend;
  const float* alpha;
  const float* inv_beta;
  float* y;
  size_t C;
};

// Rows [r0, r1) of [rows, C] matrices. Returns nothing: the math is total.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
inline void SnakeRows(SnakeArgs p, size_t r0, size_t r1) {
  const size_t C = p.C;
  const float* alpha = p.alpha;
  const float* inv_beta = p.inv_beta;
  const size_t vec_c = C / kLanes * kLanes;
  for (size_t r = r0; r < r1; r++) {
    const float* xr = p.x + r * C;
    const float* br = p.addend ? p.addend + r * C : nullptr;
    float* yr = p.y + r * C;
    VecI bad = {};
    for (size_t c = 0; c < vec_c; c += kLanes) {
      VecF v, a, ib;
      std::memcpy(&v, xr + c, sizeof v);
      if (br) {
        VecF w;
        std::memcpy(&w, br + c, sizeof w);
        v += w;
      }
      std::memcpy(&a, alpha + c, sizeof a);
      std::memcpy(&ib, inv_beta + c, sizeof ib);
      const VecF u = v * a;
      const VecF k = (u * kInvPi + kRound) - kRound;
      VecF t = u - k * kPi1;
      t = t - k * kPi2;
      t = t - k * kPi3;
      const VecF t2 = t * t;
      // Taylor in t2: -1/3! + t2 (1/5! + t2 (-1/7! + t2 (1/9! - t2/11!)))
      VecF p = t2 * -2.505210838544172e-08f;
      p = (p + 2.7557319223985893e-06f) * t2;
      p = (p - 1.984126984126984e-04f) * t2;
      p = (p + 8.333333333333333e-03f) * t2;
      p = p - 1.6666666666666666e-01f;
      const VecF s = t + t * t2 * p;
      const VecF out = v + ib * s * s;
      std::memcpy(yr + c, &out, sizeof out);
      // |u| > kLimit, an infinity or a NaN: as integers, their magnitude bits exceed kLimit's (one
      // integer compare; float compares of vector extensions are scalarized by GCC).
      VecI ub;
      std::memcpy(&ub, &u, sizeof ub);
      bad |= (ub & 0x7fffffff) > kLimitBits;
    }
    bool redo = false;
    for (int l = 0; l < kLanes; l++) redo |= bad[l] != 0;
    for (size_t c = redo ? 0 : vec_c; c < C; c++) {
      // The same float sum as the vector lanes (one IEEE add), then the plain formula.
      const float v = br ? xr[c] + br[c] : xr[c];
      yr[c] = ScalarSnake(v, alpha[c], inv_beta[c]);
    }
  }
}

}  // namespace snake_detail

// The rows*C values of `p`, on up to `threads` threads (the caller's included).
inline void SnakeCompute(const snake_detail::SnakeArgs& p, size_t rows, int threads) {
  const size_t min_rows_per_thread = std::max<size_t>(1, (64 * 1024) / std::max<size_t>(p.C, 1));
  size_t n = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), rows / min_rows_per_thread);
  if (n < 2) {
    snake_detail::SnakeRows(p, 0, rows);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  for (size_t i = 1; i < n; i++) pool.emplace_back(snake_detail::SnakeRows, p, rows * i / n, rows * (i + 1) / n);
  snake_detail::SnakeRows(p, 0, rows / n);
  for (std::thread& t : pool) t.join();
}

// y = snake(x) over rows*C values.
inline void SnakeCompute(const float* x, const float* alpha, const float* inv_beta, float* y, size_t rows, size_t C,
                         int threads) {
  SnakeCompute(snake_detail::SnakeArgs{x, nullptr, alpha, inv_beta, y, C}, rows, threads);
}

namespace snake_detail {

inline LiteRtStatus Init(void*, const void*, size_t) { return kLiteRtStatusOk; }
inline LiteRtStatus Destroy(void*) { return kLiteRtStatusOk; }  // the state belongs to the model

inline LiteRtStatus OutputLayouts(void*, size_t num_inputs, const LiteRtLayout* in, size_t num_outputs,
                                  LiteRtLayout* out) {
  if (num_inputs < 1 || num_outputs != 1) return kLiteRtStatusErrorInvalidArgument;
  out[0] = in[0];
  return kLiteRtStatusOk;
}

// Both ops: inputs [x, (addend,) alpha, inv_beta], output y; `with_addend` tells which op it is.
inline LiteRtStatus RunOp(bool with_addend, void* user_data, size_t num_inputs, const LiteRtTensorBuffer* inputs,
                          size_t num_outputs, LiteRtTensorBuffer* outputs) {
  SnakeState* state = static_cast<SnakeState*>(user_data);
  auto fail = [&](LiteRtStatus s) {
    state->failed = true;
    return s;
  };
  const size_t ni = with_addend ? 4 : 3;
  if (num_inputs != ni || num_outputs != 1) return fail(kLiteRtStatusErrorInvalidArgument);
  // all: the inputs, then the output (locked for writing).
  LiteRtTensorBuffer all[5] = {};
  const size_t n = ni + 1;
  for (size_t i = 0; i < ni; i++) all[i] = inputs[i];
  all[ni] = outputs[0];
  size_t size[5] = {};
  void* addr[5] = {};
  for (size_t i = 0; i < n; i++)
    if (LiteRtGetTensorBufferSize(all[i], &size[i]) != kLiteRtStatusOk) return fail(kLiteRtStatusErrorRuntimeFailure);
  const size_t ia = ni - 2;  // alpha; inv_beta follows
  const size_t C = size[ia] / sizeof(float);
  bool ok = C > 0 && size[ia + 1] == size[ia] && size[0] % (C * sizeof(float)) == 0;
  for (size_t i = 1; i < n; i++)
    if (i != ia && i != ia + 1) ok = ok && size[i] == size[0];
  if (!ok) return fail(kLiteRtStatusErrorInvalidArgument);
  size_t locked = 0;
  LiteRtStatus s = kLiteRtStatusOk;
  for (; locked < n && s == kLiteRtStatusOk; locked++)
    s = LiteRtLockTensorBuffer(all[locked], &addr[locked],
                               locked < ni ? kLiteRtTensorBufferLockModeRead : kLiteRtTensorBufferLockModeWrite);
  if (s == kLiteRtStatusOk) {
    const SnakeArgs p{static_cast<const float*>(addr[0]),
                      with_addend ? static_cast<const float*>(addr[1]) : nullptr,
                      static_cast<const float*>(addr[ia]),
                      static_cast<const float*>(addr[ia + 1]),
                      static_cast<float*>(addr[ni]),
                      C};
    SnakeCompute(p, size[0] / sizeof(float) / C, state->threads);
  } else {
    locked--;  // the failed lock holds nothing
  }
  for (size_t i = 0; i < locked; i++) LiteRtUnlockTensorBuffer(all[i]);
  return s == kLiteRtStatusOk ? s : fail(s);
}

inline LiteRtStatus Run(void* user_data, size_t num_inputs, const LiteRtTensorBuffer* inputs, size_t num_outputs,
                        LiteRtTensorBuffer* outputs) {
  return RunOp(false, user_data, num_inputs, inputs, num_outputs, outputs);
}

inline LiteRtStatus RunAdd(void* user_data, size_t num_inputs, const LiteRtTensorBuffer* inputs,
                           size_t num_outputs, LiteRtTensorBuffer* outputs) {
  return RunOp(true, user_data, num_inputs, inputs, num_outputs, outputs);
}

}  // namespace snake_detail

inline const LiteRtCustomOpKernel* SnakeKernel() {
  static const LiteRtCustomOpKernel kernel = {snake_detail::Init, snake_detail::OutputLayouts, snake_detail::Run,
                                              snake_detail::Destroy};
  return &kernel;
}

inline const LiteRtCustomOpKernel* AddSnakeKernel() {
  static const LiteRtCustomOpKernel kernel = {snake_detail::Init, snake_detail::OutputLayouts, snake_detail::RunAdd,
                                              snake_detail::Destroy};
  return &kernel;
}

}  // namespace audiogen

#endif  // AUDIOGEN_SNAKE_H_

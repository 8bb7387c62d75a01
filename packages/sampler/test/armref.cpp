// Reference for the Arm-compatible noise stream: what Arm's audiogen sample computes with
// std::mt19937 and libstdc++'s std::normal_distribution<float>. Compiled and run by
// src/rng/arm.test.ts; writes little-endian uint32 words to stdout.
//   armref mt <seed> <count>       raw mt19937 outputs
//   armref normal <seed> <count>   float bits of normal_distribution<float>(0,1), as Arm fills a buffer
//   armref logf <start> <stride> <count>   float bits of logf(asfloat(start + k*stride))
//   armref sigmas <steps>          float bits of Arm's fill_sigmas (logSNR -6 → 2)
//   armref pingpong <seed> <steps> <n>  Arm's whole sampling loop (fill_random_norm_dist, fill_sigmas,
//                                  sampler_ping_pong) around a fake DiT v = 0.5f*x - t; final x bits
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

static void put(uint32_t w) { fwrite(&w, 4, 1, stdout); }
static void putf(float f) {
  uint32_t w;
  std::memcpy(&w, &f, 4);
  put(w);
}

static void fill_random_norm_dist(float* buff, size_t buff_sz, size_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dis(0.0f, 1.0f);
  auto gen_fn = [&dis, &gen]() { return dis(gen); };
  std::generate(buff, buff + buff_sz, gen_fn);
}

static void fill_sigmas(std::vector<float>& arr, float start, float end) {
  const int32_t sz = static_cast<int32_t>(arr.size());
  const float step = ((end - start) / static_cast<float>(sz - 1));
  arr[0] = start;
  arr[sz - 1] = end;
  for (int32_t i = 1; i < sz - 1; ++i) arr[i] = arr[i - 1] + step;
  for (int32_t i = 0; i < sz; ++i) arr[i] = 1.0f / (1.0f + std::exp(arr[i]));
  arr[0] = 1.0f;
  arr[sz - 1] = 0.0f;
}

static void sampler_ping_pong(float* out, float* x, size_t n, float cur_t, float next_t, size_t seed) {
  for (size_t i = 0; i < n; i++) out[i] = x[i] - (cur_t * out[i]);
  fill_random_norm_dist(x, n, seed);
  for (size_t i = 0; i < n; i++) x[i] = ((1.0f - next_t) * out[i]) + (next_t * x[i]);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string mode = argv[1];
  if (mode == "mt") {
    std::mt19937 g(std::stoull(argv[2]));
    size_t n = std::stoull(argv[3]);
    for (size_t i = 0; i < n; ++i) put(static_cast<uint32_t>(g()));
  } else if (mode == "normal") {
    size_t seed = std::stoull(argv[2]);
    size_t n = std::stoull(argv[3]);
    std::vector<float> buf(n);
    std::mt19937 gen(seed);
    std::normal_distribution<float> dis(0.0f, 1.0f);
    auto gen_fn = [&dis, &gen]() { return dis(gen); };
    std::generate(buf.data(), buf.data() + n, gen_fn);
    for (float f : buf) putf(f);
  } else if (mode == "logf") {
    uint32_t start = static_cast<uint32_t>(std::stoul(argv[2]));
    uint32_t stride = static_cast<uint32_t>(std::stoul(argv[3]));
    size_t n = std::stoull(argv[4]);
    for (size_t k = 0; k < n; ++k) {
      uint32_t ix = start + static_cast<uint32_t>(k) * stride;
      float x;
      std::memcpy(&x, &ix, 4);
      volatile float vx = x;
      putf(std::log(static_cast<float>(vx)));
    }
  } else if (mode == "sigmas") {
    size_t steps = std::stoull(argv[2]);
    std::vector<float> arr(steps + 1);
    fill_sigmas(arr, -6.0f, 2.0f);
    for (float f : arr) putf(f);
  } else if (mode == "pingpong") {
    size_t seed = std::stoull(argv[2]);
    size_t steps = std::stoull(argv[3]);
    size_t n = std::stoull(argv[4]);
    std::vector<float> x(n), out(n), t(steps + 1);
    fill_random_norm_dist(x.data(), n, seed);
    fill_sigmas(t, -6.0f, 2.0f);
    for (size_t i = 0; i < steps; ++i) {
      for (size_t j = 0; j < n; ++j) out[j] = 0.5f * x[j] - t[i];  // fake DiT
      sampler_ping_pong(out.data(), x.data(), n, t[i], t[i + 1], seed + i + 4564);
    }
    for (float f : x) putf(f);
  } else {
    return 2;
  }
  return 0;
}

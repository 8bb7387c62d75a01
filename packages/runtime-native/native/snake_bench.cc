// Microbenchmark of the Snake kernels (snake.h) outside LiteRT: scripts/snake-bench.mjs builds and runs it.
// Per size, ns per value (wall) for snake(x) and snake(a + b) (AudiogenAddSnake), on 1 and 2 threads: on a
// decoder-sized activation the passes are bound by memory, not by the sin polynomial.
//   snake_bench [C] [rows,rows,...]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "snake.h"

int main(int argc, char** argv) {
  const size_t C = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 128;
  std::vector<size_t> sizes = {8192, 524288};
  if (argc > 2) {
    sizes.clear();
    std::stringstream in(argv[2]);
    for (std::string r; std::getline(in, r, ',');) sizes.push_back(std::strtoul(r.c_str(), nullptr, 10));
  }
  for (size_t rows : sizes) {
    std::vector<float> x(rows * C), b(rows * C), y(rows * C), a(C), ib(C);
    for (size_t i = 0; i < x.size(); i++) {
      x[i] = std::sin(i * 0.37f) * 2;
      b[i] = std::cos(i * 0.1f);
    }
    for (size_t c = 0; c < C; c++) {
      a[c] = 0.5f + c * 0.01f;
      ib[c] = 1.0f / (0.5f + c * 0.02f);
    }
    const char* names[2] = {"snake(x)", "snake(a+b)"};
    for (int mode = 0; mode < 2; mode++) {
      for (int threads : {1, 2}) {
        double total = 0;
        const auto t0 = std::chrono::steady_clock::now();
        while (total < 2e9) {
          if (mode == 0) {
            audiogen::SnakeCompute(x.data(), a.data(), ib.data(), y.data(), rows, C, threads);
          } else {
            audiogen::SnakeCompute({x.data(), b.data(), a.data(), ib.data(), y.data(), C}, rows, threads);
          }
          total += static_cast<double>(rows * C);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("C %zu rows %zu (%.0f MB): %-11s threads %d  %.3f ns/value\n", C, rows, rows * C * 4 / 1e6,
                    names[mode], threads, s / total * 1e9);
      }
    }
  }
  return 0;
}

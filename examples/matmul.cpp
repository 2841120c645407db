// matmul: multiplies two matrices by mapping over the blocks of the result.
//
// Teaches domain decomposition with `pool.map`: the work is cut into independent blocks of C,
// each task computes one block from a band of rows of A and a band of columns of B (captured by
// reference, never copied), and the blocks are put back together. The result is checked against
// a textbook serial triple loop. In Python with NumPy:
//
//     def block(ij):
//         i, j = ij
//         return A[i:i + b, :] @ B[:, j:j + b]
//
//     with Pool() as pool:
//         blocks = pool.map(block, [(i, j) for i in range(0, n, b) for j in range(0, n, b)])
//
// and in C++ (workloads/matmul.hpp):
//
//     pool.map([&](const Block& block) { return multiply_block(a, b, block); }, blocks(n, 128));
//
// Usage: matmul [n]      (default 512)

#include <cstdio>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"
#include "workloads/matmul.hpp"

namespace {

// C = A·B by the definition, one entry after another: the independent check.
workloads::matmul::Matrix reference(const workloads::matmul::Matrix& a,
                                    const workloads::matmul::Matrix& b) {
  workloads::matmul::Matrix c(a.n);
  for (std::size_t i = 0; i < a.n; ++i) {
    for (std::size_t j = 0; j < a.n; ++j) {
      double sum = 0.0;
      for (std::size_t k = 0; k < a.n; ++k) sum += a(i, k) * b(k, j);
      c(i, j) = sum;
    }
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  namespace w = workloads::matmul;
  const auto n = static_cast<std::size_t>(workloads::size_argument(argc, argv, 1, 512));
  const std::size_t block = 128;
  const w::Matrix a = w::make_matrix(n, 1);
  const w::Matrix b = w::make_matrix(n, 2);

  mpp::Pool pool;
  const auto [blocked, serial_s] = workloads::timed([&] { return w::serial(a, b, block); });
  const auto [c, parallel_s] = workloads::timed([&] { return w::parallel(pool, a, b, block); });
  const auto [expected, reference_s] = workloads::timed([&] { return reference(a, b); });

  std::printf("C = A B for %zux%zu matrices, %zu blocks of %zux%zu; sum of C = %.0f\n", n, n,
              w::blocks(n, block).size(), block, block, w::checksum(c));
  std::printf(
      "mpp::Pool with %d threads: %.3f s; same blocks serially: %.3f s; "
      "triple loop: %.3f s\n",
      pool.threads(), parallel_s, serial_s, reference_s);
  if (c != expected || blocked != expected) {
    std::fprintf(stderr, "error: the blocked product differs from the triple loop's\n");
    return 1;
  }
  return 0;
}

#pragma once
// Matrix multiplication C = A·B decomposed into square blocks of C, one task per block: the
// workload of examples/matmul.cpp and of the demo.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <mpp/mpp.hpp>

namespace workloads::matmul {

/// A dense n × n matrix of doubles, row-major.
struct Matrix {
  std::size_t n = 0;
  std::vector<double> values;
  explicit Matrix(std::size_t size = 0) : n(size), values(size * size, 0.0) {}
  double& operator()(std::size_t i, std::size_t j) { return values[i * n + j]; }
  double operator()(std::size_t i, std::size_t j) const { return values[i * n + j]; }
  bool operator==(const Matrix&) const = default;
};

/// A matrix of small integers (from -8 to 8) stored as doubles. Every product and partial sum
/// is then an integer far below 2^53, so floating-point sums are exact in any order and the
/// parallel result can be compared bit for bit with the serial one.
inline Matrix make_matrix(std::size_t n, std::uint64_t seed) {
  Matrix m(n);
  std::uint64_t state = seed;
  for (double& v : m.values) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;  // an LCG, reproducible
    v = static_cast<double>(static_cast<int>((state >> 33) % 17) - 8);
  }
  return m;
}

/// One block of C: rows [row, row + size) and columns [col, col + size), clipped to n.
struct Block {
  std::size_t row = 0;
  std::size_t col = 0;
  std::size_t size = 0;
};

/// The blocks covering an n × n matrix, `size` × `size` each (smaller at the edges).
inline std::vector<Block> blocks(std::size_t n, std::size_t size) {
  std::vector<Block> list;
  for (std::size_t row = 0; row < n; row += size) {
    for (std::size_t col = 0; col < n; col += size) list.push_back({row, col, size});
  }
  return list;
}

/// The task: block `b` of A·B, row by row (i-k-j loop order, so the inner loop runs along rows
/// of B and C and vectorises).
inline std::vector<double> multiply_block(const Matrix& a, const Matrix& b, Block block) {
  const std::size_t rows = std::min(block.size, a.n - block.row);
  const std::size_t cols = std::min(block.size, a.n - block.col);
  std::vector<double> c(rows * cols, 0.0);
  for (std::size_t i = 0; i < rows; ++i) {
    double* c_row = &c[i * cols];
    for (std::size_t k = 0; k < a.n; ++k) {
      const double a_ik = a(block.row + i, k);
      const double* b_row = &b.values[k * b.n + block.col];
      for (std::size_t j = 0; j < cols; ++j) c_row[j] += a_ik * b_row[j];
    }
  }
  return c;
}

/// Copies the blocks computed for `list` into one matrix.
inline Matrix assemble(std::size_t n, const std::vector<Block>& list,
                       const std::vector<std::vector<double>>& results) {
  Matrix c(n);
  for (std::size_t t = 0; t < list.size(); ++t) {
    const Block& block = list[t];
    const std::size_t rows = std::min(block.size, n - block.row);
    const std::size_t cols = std::min(block.size, n - block.col);
    for (std::size_t i = 0; i < rows; ++i) {
      std::copy_n(&results[t][i * cols], cols, &c(block.row + i, block.col));
    }
  }
  return c;
}

/// The reference: the same blocks in turn on this thread.
inline Matrix serial(const Matrix& a, const Matrix& b, std::size_t block_size) {
  const std::vector<Block> list = blocks(a.n, block_size);
  std::vector<std::vector<double>> results;
  results.reserve(list.size());
  for (const Block& block : list) results.push_back(multiply_block(a, b, block));
  return assemble(a.n, list, results);
}

/// `pool.map(multiply_block, blocks)` and the blocks joined into C.
inline Matrix parallel(mpp::Pool& pool, const Matrix& a, const Matrix& b, std::size_t block_size,
                       const mpp::MapOptions& options = {}) {
  const std::vector<Block> list = blocks(a.n, block_size);
  const auto results =
      pool.map([&](const Block& block) { return multiply_block(a, b, block); }, list, options);
  return assemble(a.n, list, results);
}

/// The sum of all entries: a short summary of a matrix.
inline double checksum(const Matrix& m) {
  double sum = 0.0;
  for (double v : m.values) sum += v;
  return sum;
}

}  // namespace workloads::matmul

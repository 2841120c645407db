#pragma once
// The Mandelbrot set rendered row by row: the workload of examples/mandelbrot.cpp and of the
// demo. Rows crossing the set cost up to `max_iterations` steps per pixel, rows outside it a few,
// so the items of this map have very different costs.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <ranges>
#include <string>
#include <vector>

#include <mpp/mpp.hpp>

namespace workloads::mandelbrot {

/// The picture: its size in pixels and the window of the complex plane it shows. The window is
/// deliberately off-centre (mostly the upper half-plane), so the expensive rows are not spread
/// evenly: the lower part of the image holds most of the set.
struct Params {
  int width = 1200;
  int height = 700;
  int max_iterations = 1000;
  double re_min = -2.1;
  double re_max = 0.9;
  double im_min = -0.35;  // bottom row
  double im_max = 1.4;    // top row
};

/// A grey-scale image, one byte per pixel, row after row.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
  bool operator==(const Image&) const = default;
};

/// The task: the shades of row `y` (0 is the top). Points of the set are black; outside, the
/// longer a point takes to escape, the lighter it is, so the set's edge glows.
inline std::vector<std::uint8_t> render_row(const Params& p, int y) {
  std::vector<std::uint8_t> row(static_cast<std::size_t>(p.width));
  const double ci = p.im_max - (p.im_max - p.im_min) * (y + 0.5) / p.height;
  const double log_max = std::log(p.max_iterations);
  for (int x = 0; x < p.width; ++x) {
    const double cr = p.re_min + (p.re_max - p.re_min) * (x + 0.5) / p.width;
    double zr = 0.0;
    double zi = 0.0;
    int k = 0;
    while (k < p.max_iterations && zr * zr + zi * zi <= 4.0) {
      const double next = zr * zr - zi * zi + cr;
      zi = 2.0 * zr * zi + ci;
      zr = next;
      ++k;
    }
    row[static_cast<std::size_t>(x)] =
        k == p.max_iterations ? 0 : static_cast<std::uint8_t>(32 + 223 * std::log(k) / log_max);
  }
  return row;
}

/// Joins rendered rows into one image.
inline Image assemble(const Params& p, const std::vector<std::vector<std::uint8_t>>& rows) {
  Image image{p.width, p.height, {}};
  image.pixels.reserve(static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.height));
  for (const auto& row : rows) image.pixels.insert(image.pixels.end(), row.begin(), row.end());
  return image;
}

/// The reference: every row in turn on this thread.
inline Image serial(const Params& p) {
  std::vector<std::vector<std::uint8_t>> rows;
  rows.reserve(static_cast<std::size_t>(p.height));
  for (int y = 0; y < p.height; ++y) rows.push_back(render_row(p, y));
  return assemble(p, rows);
}

/// `pool.map(render_row, range(height), ...)` with the given schedule and chunk size.
inline Image parallel(mpp::Pool& pool, const Params& p, const mpp::MapOptions& options = {}) {
  auto rows =
      pool.map([&p](int y) { return render_row(p, y); }, std::views::iota(0, p.height), options);
  return assemble(p, rows);
}

/// How many pixels lie in the set (are black): a short summary of an image.
inline std::size_t pixels_in_set(const Image& image) {
  std::size_t count = 0;
  for (std::uint8_t shade : image.pixels) count += shade == 0 ? 1 : 0;
  return count;
}

/// Writes `image` as a binary PGM (P5), which most image viewers open; false on failure.
inline bool write_pgm(const Image& image, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  out << "P5\n" << image.width << ' ' << image.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(image.pixels.data()),
            static_cast<std::streamsize>(image.pixels.size()));
  return static_cast<bool>(out);
}

}  // namespace workloads::mandelbrot

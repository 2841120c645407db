// wordcount: counts the words of a text by map-reduce: count each chunk, then merge the counts.
//
// Teaches map-reduce with `pool.map`: the map step returns a whole container per item (a word
// count of one chunk), and the reduce step merges them on the calling thread. The text is
// generated deterministically (Zipf-distributed words), so every run gives the same counts.
// It mirrors the Python
//
//     def count_words(text):
//         return Counter(re.findall(r"[a-z']+", text.lower()))
//
//     with Pool() as pool:
//         counts = sum(pool.map(count_words, chunks), Counter())
//     print(counts.most_common(5))
//
// and in C++ (workloads/wordcount.hpp):
//
//     std::vector<Counts> parts = pool.map(count_words, chunks(text, 16));
//     for (const Counts& part : parts) merge(total, part);
//
// Usage: wordcount [words]      (default 1000000)

#include <cstdint>
#include <cstdio>
#include <string>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"
#include "workloads/wordcount.hpp"

int main(int argc, char** argv) {
  namespace w = workloads::wordcount;
  const auto words = static_cast<std::size_t>(workloads::size_argument(argc, argv, 1, 1'000'000));
  const std::size_t pieces = 16;  // few enough that merging the counts stays cheap
  const std::string text = w::make_corpus(words);

  mpp::Pool pool;
  const auto [expected, serial_s] = workloads::timed([&] { return w::serial(text); });
  const auto [counts, parallel_s] =
      workloads::timed([&] { return w::parallel(pool, text, pieces); });

  std::printf("%llu words (%zu distinct) in %zu bytes of text, counted in %zu chunks\n",
              static_cast<unsigned long long>(w::total_words(counts)), counts.size(), text.size(),
              pieces);
  std::printf("most common:");
  for (const auto& [word, count] : w::most_common(counts, 5)) {
    std::printf(" %s (%llu)", word.c_str(), static_cast<unsigned long long>(count));
  }
  std::printf("\nmpp::Pool with %d threads: %.3f s; serial: %.3f s\n", pool.threads(), parallel_s,
              serial_s);
  if (counts != expected || w::total_words(counts) != words) {
    std::fprintf(stderr, "error: the counts differ from the serial ones or from %zu words\n",
                 words);
    return 1;
  }
  return 0;
}

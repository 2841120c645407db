#pragma once
// Word counting as map-reduce over the chunks of a text: the workload of examples/wordcount.cpp
// and of the demo. The text is generated deterministically, so every run counts the same words.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <mpp/mpp.hpp>

namespace workloads::wordcount {

/// How often each word occurs (Python's `collections.Counter`).
using Counts = std::unordered_map<std::string, std::uint64_t>;

/// splitmix64: a tiny generator whose output is the same on every platform, unlike the
/// distributions of `<random>`.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

/// `words` words of English-looking text in sentences, one per line: common English words and
/// invented ones, drawn with Zipf's law (the r-th most common word is r times rarer than the
/// first), with capitals and punctuation to strip.
inline std::string make_corpus(std::size_t words, std::uint64_t seed = 42) {
  static constexpr std::array<std::string_view, 24> common = {
      "the", "of", "and",  "to",  "a",    "in", "is", "it",   "that", "was",  "for", "on",
      "are", "as", "with", "his", "they", "at", "be", "this", "from", "have", "or",  "by"};
  static constexpr std::array<std::string_view, 16> syllables = {
      "ka", "lo",  "mi",  "ne", "ru", "ta", "shi", "po",
      "de", "ven", "tor", "al", "ob", "um", "ex",  "bra"};
  std::vector<std::string> vocabulary(common.begin(), common.end());
  for (std::size_t i = 1; vocabulary.size() < 5000; ++i) {
    std::string word;
    for (std::size_t rest = i; rest != 0; rest /= syllables.size()) {
      word += syllables[rest % syllables.size()];
    }
    vocabulary.push_back(std::move(word));
  }
  std::vector<double> cumulative(vocabulary.size());
  double total = 0.0;
  for (std::size_t r = 0; r < vocabulary.size(); ++r) {
    total += 1.0 / static_cast<double>(r + 1);
    cumulative[r] = total;
  }

  SplitMix64 rng(seed);
  std::string text;
  text.reserve(words * 6);
  std::size_t sentence_left = 0;
  for (std::size_t w = 0; w < words; ++w) {
    const bool first = sentence_left == 0;
    if (first) sentence_left = 4 + rng.below(12);
    const double u = rng.unit() * total;
    const auto rank = static_cast<std::size_t>(
        std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    std::string word = vocabulary[std::min(rank, vocabulary.size() - 1)];
    if (first) word[0] = static_cast<char>(word[0] - 'a' + 'A');
    text += word;
    --sentence_left;
    if (sentence_left == 0) {
      text += ".\n";
    } else {
      text += rng.below(10) == 0 ? ", " : " ";
    }
  }
  if (sentence_left != 0) text += ".\n";
  return text;
}

/// The text cut into about `pieces` chunks, each ending at the end of a line.
inline std::vector<std::string_view> chunks(std::string_view text, std::size_t pieces) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  for (std::size_t i = 1; i <= pieces && begin < text.size(); ++i) {
    std::size_t end = i == pieces ? text.size() : text.size() * i / pieces;
    end = std::max(end, begin);
    end = text.find('\n', end);
    end = end == std::string_view::npos ? text.size() : end + 1;
    parts.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return parts;
}

/// The map task: the words of `text` (letters and apostrophes, lower-cased) and their counts.
inline Counts count_words(std::string_view text) {
  Counts counts;
  std::string word;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || c == '\'') {
      word += c;
    } else if (c >= 'A' && c <= 'Z') {
      word += static_cast<char>(c - 'A' + 'a');
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  if (!word.empty()) ++counts[word];
  return counts;
}

/// The reduce step: adds `part` into `total` (Python's `Counter.update`).
inline void merge(Counts& total, const Counts& part) {
  for (const auto& [word, count] : part) total[word] += count;
}

/// The reference: the whole text counted in one pass on this thread.
inline Counts serial(std::string_view text) {
  return count_words(text);
}

/// `reduce(merge, pool.map(count_words, chunks))`.
inline Counts parallel(mpp::Pool& pool, std::string_view text, std::size_t pieces,
                       const mpp::MapOptions& options = {}) {
  std::vector<Counts> parts = pool.map(count_words, chunks(text, pieces), options);
  Counts total;
  for (const Counts& part : parts) merge(total, part);
  return total;
}

/// The `n` most common words, most common first (ties alphabetically): `Counter.most_common(n)`.
inline std::vector<std::pair<std::string, std::uint64_t>> most_common(const Counts& counts,
                                                                      std::size_t n) {
  std::vector<std::pair<std::string, std::uint64_t>> all(counts.begin(), counts.end());
  const auto more_common = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    more_common);
  all.resize(n);
  return all;
}

/// The number of words counted.
inline std::uint64_t total_words(const Counts& counts) {
  std::uint64_t total = 0;
  for (const auto& entry : counts) total += entry.second;
  return total;
}

}  // namespace workloads::wordcount

// tokvec_gen_zipf: writes a synthetic Zipf-distributed text, for scale benchmarks
// (tools/bench_scale.sh): a vocabulary of V distinct words, N tokens, rank r drawn with
// probability  p(r) = r^-s / H(V, s),  H(V, s) = sum_{k=1..V} k^-s  (Zipf's law, s ~ 1 for
// natural language).
//
//   tokvec_gen_zipf --output FILE [--vocab V] [--tokens N] [--exponent S] [--seed X]
//                   [--words-per-line W] [--floor M] [--min-count C]
//
// Word forms are unique by construction: rank r (1-based) is written in bijective base 26
// (a..z, aa..az, ba.., zz, aaa..), so the words mode of tokvec sees exactly the distinct
// ranks drawn, and frequent words are short as in real text.
//
// --floor M: every rank occurs at least M times. Pure sampling leaves the tail ranks of a
// 1 M-word vocabulary with few expected occurrences (N p(V) = 14 at N = 200 M, s = 1; 3.5
// at N = 50 M), so the vocabulary --min-count keeps would shrink with N. With a floor, M·V
// positions spread evenly through the text carry every rank M times in a scattered order
// (the j-th carries rank (j · 7919) mod V), and the other positions are drawn from Zipf;
// then --min-count M keeps exactly V words whatever N is (N >= M·V).
//
// Output is deterministic: the same options give the same bytes (one thread, a fixed
// 64-bit generator seeded from --seed). The counts of every rank are tallied, and the
// number of ranks occurring at least --min-count times is reported on stderr.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

__extension__ typedef unsigned __int128 u128;  // GCC and Clang: exact 64 x 64-bit products

/// SplitMix64 (Steele, Lea, Flood 2014): a fast 64-bit generator, good enough for sampling.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

/// Walker's alias method (Vose's construction): O(1) draws from V weights.
class Alias {
 public:
  explicit Alias(const std::vector<double>& weights) : prob_(weights.size()), alias_(weights.size()) {
    const size_t n = weights.size();
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) prob_[i] = 1.0, alias_[i] = i;
    for (uint32_t i : small) prob_[i] = 1.0, alias_[i] = i;  // rounding leftovers
  }
  /// A 0-based rank from one 64-bit random number: the high bits pick a column, 53 low bits
  /// decide between the column and its alias.
  uint32_t draw(uint64_t r) const {
    const uint32_t col = static_cast<uint32_t>(((r >> 32) * prob_.size()) >> 32);  // < 2^32 · 2^27: no overflow
    const double u = static_cast<double>(r & ((uint64_t{1} << 32) - 1)) * (1.0 / 4294967296.0);
    return u < prob_[col] ? col : alias_[col];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

/// Rank r (1-based) in bijective base 26: 1 -> a, 26 -> z, 27 -> aa.
std::string word_form(uint64_t r) {
  std::string s;
  while (r > 0) {
    --r;
    s.push_back(static_cast<char>('a' + r % 26));
    r /= 26;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "tokvec_gen_zipf: %s\n"
               "usage: tokvec_gen_zipf --output FILE [--vocab V=1000000] [--tokens N=200000000] [--exponent S=1.0]\n"
               "                       [--seed X=1] [--words-per-line W=100] [--floor M=0] [--min-count C=5]\n",
               message);
  std::exit(2);
}

uint64_t parse_u64(const char* name, const char* v, uint64_t lo, uint64_t hi) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || x < lo || x > hi) {
    std::string m = std::string("--") + name + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'";
    usage(m.c_str());
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t vocab = 1000000, tokens = 200000000, seed = 1, per_line = 100, floor_count = 0, min_count = 5;
  double exponent = 1.0;
  std::string output;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") usage("writes a Zipf-distributed text");
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    if (a == "--output") output = v;
    else if (a == "--vocab") vocab = parse_u64("vocab", v, 1, 100000000);
    else if (a == "--tokens") tokens = parse_u64("tokens", v, 1, uint64_t{1} << 40);
    else if (a == "--seed") seed = parse_u64("seed", v, 0, UINT64_MAX);
    else if (a == "--words-per-line") per_line = parse_u64("words-per-line", v, 1, uint64_t{1} << 30);
    else if (a == "--floor") floor_count = parse_u64("floor", v, 0, 1000000);
    else if (a == "--min-count") min_count = parse_u64("min-count", v, 1, uint64_t{1} << 32);
    else if (a == "--exponent") {
      char* end = nullptr;
      exponent = std::strtod(v, &end);
      if (end == v || *end != '\0' || !(exponent > 0.0 && exponent <= 4.0)) usage("--exponent expects a number in (0, 4]");
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (output.empty()) usage("--output is required");
  const uint64_t floor_tokens = floor_count * vocab;
  if (floor_tokens > tokens) usage("--floor x --vocab is more than --tokens");

  std::vector<double> weights(vocab);
  for (uint64_t r = 0; r < vocab; ++r) weights[r] = std::pow(static_cast<double>(r + 1), -exponent);
  const Alias zipf(weights);
  weights = {};
  // All word forms back to back, each followed by its separator slot.
  std::vector<uint64_t> offset(vocab + 1);
  std::string forms;
  for (uint64_t r = 0; r < vocab; ++r) {
    offset[r] = forms.size();
    forms += word_form(r + 1);
  }
  offset[vocab] = forms.size();

  std::FILE* out = std::fopen(output.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "tokvec_gen_zipf: cannot create %s: %s\n", output.c_str(), std::strerror(errno));
    return 4;
  }
  std::vector<uint64_t> counts(vocab, 0);
  SplitMix64 rng{seed};
  std::string buf;
  buf.reserve(size_t{4} << 20);
  // Floor positions: the j-th of floor_tokens sits at token floor(j * N / floor_tokens).
  uint64_t next_floor_j = 0;
  uint64_t next_floor_at = floor_tokens > 0 ? 0 : UINT64_MAX;
  uint64_t bytes = 0;
  for (uint64_t t = 0; t < tokens; ++t) {
    uint32_t r;
    if (t == next_floor_at) {
      r = static_cast<uint32_t>((next_floor_j * 7919) % vocab);  // 7919 is prime: every rank, scattered
      ++next_floor_j;
      next_floor_at = next_floor_j < floor_tokens
                          ? static_cast<uint64_t>((static_cast<u128>(next_floor_j) * tokens) / floor_tokens)
                          : UINT64_MAX;
    } else {
      r = zipf.draw(rng.next());
    }
    ++counts[r];
    buf.append(forms, offset[r], offset[r + 1] - offset[r]);
    buf.push_back((t + 1) % per_line == 0 || t + 1 == tokens ? '\n' : ' ');
    if (buf.size() >= (size_t{4} << 20) - 64) {
      if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size()) {
        std::fprintf(stderr, "tokvec_gen_zipf: write to %s failed: %s\n", output.c_str(), std::strerror(errno));
        return 4;
      }
      bytes += buf.size();
      buf.clear();
    }
  }
  if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size() || std::fclose(out) != 0) {
    std::fprintf(stderr, "tokvec_gen_zipf: write to %s failed: %s\n", output.c_str(), std::strerror(errno));
    return 4;
  }
  bytes += buf.size();
  uint64_t present = 0, kept = 0;
  for (uint64_t c : counts) {
    present += c > 0;
    kept += c >= min_count;
  }
  std::fprintf(stderr,
               "tokvec_gen_zipf: %s: %llu tokens, %llu bytes, %llu lines; %llu of %llu words occur, %llu at least %llu times "
               "(count of rank 1: %llu, of rank %llu: %llu)\n",
               output.c_str(), static_cast<unsigned long long>(tokens), static_cast<unsigned long long>(bytes),
               static_cast<unsigned long long>((tokens + per_line - 1) / per_line), static_cast<unsigned long long>(present),
               static_cast<unsigned long long>(vocab), static_cast<unsigned long long>(kept),
               static_cast<unsigned long long>(min_count), static_cast<unsigned long long>(counts[0]),
               static_cast<unsigned long long>(vocab), static_cast<unsigned long long>(counts[vocab - 1]));
  // Machine-readable for scripts: the number of words tokvec keeps at this --min-count.
  std::printf("%llu\n", static_cast<unsigned long long>(kept));
  return 0;
}

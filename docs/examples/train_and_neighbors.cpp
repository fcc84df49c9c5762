// Trains word vectors on a text with tokvec's library API and prints the nearest
// neighbours of a word. Build it against an installed tokvec (docs/api.md):
//
//   cmake -S docs/examples -B build-example -DCMAKE_PREFIX_PATH=PREFIX
//   cmake --build build-example
//   build-example/train_and_neighbors corpora/gutenberg-3m.txt night
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <tokvec/tokvec.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s TEXT [WORD]\n", argv[0]);
    return 2;
  }
  const std::string text = argv[1];
  const std::string word = argc == 3 ? argv[2] : "night";
  try {
    // 1. Tokenize: whitespace-separated words, the rare ones dropped.
    tokvec::WordVocabConfig vocab_config;
    vocab_config.min_count = 5;
    tokvec::CorpusData corpus = tokvec::build_word_corpus(text, vocab_config);
    std::printf("%s: %zu tokens, %zu words in the vocabulary\n", text.c_str(), corpus.tokens.size(),
                corpus.vocab.size());

    // 2. Train skip-gram with negative sampling.
    tokvec::TrainConfig config;
    config.dim = 50;
    config.epochs = 5;
    config.min_count = vocab_config.min_count;
    config.quiet = true;
    config.validate(corpus.view(), text);
    tokvec::TrainingState state = tokvec::initial_state(corpus.view(), corpus.vocab, corpus.tokenizer_kind,
                                                        corpus.tokenizer_checksum, config);
    tokvec::train(corpus.view(), config, state);
    std::printf("trained %llu tokens, mean loss %.3f\n", static_cast<unsigned long long>(state.tokens_done),
                state.loss_count ? state.loss_sum / static_cast<double>(state.loss_count) : 0.0);
    // tokvec::save_state("state.tkv", state) would keep it for `tokvec export` and `tokvec audit`.

    // 3. The input vectors, most frequent word first, and the 10 nearest neighbours by cosine.
    tokvec::Embeddings vectors = tokvec::token_embeddings(state);
    tokvec::WordIndex index(vectors, vectors.size());
    const int64_t row = index.find(word);
    if (row < 0) {
      std::fprintf(stderr, "%s: not in the vocabulary\n", word.c_str());
      return 3;
    }
    const std::vector<float> unit = tokvec::unit_rows(vectors);
    std::printf("%s\n", word.c_str());
    for (const tokvec::Neighbor& n :
         tokvec::nearest(vectors, unit, vectors.row(static_cast<size_t>(row)), 10, row)) {
      std::printf("  %.4f  %s\n", static_cast<double>(n.cosine), n.word.c_str());
    }
  } catch (const tokvec::Error& e) {
    // The message names the file and the place; exit_code() maps its kind as the CLI does.
    std::fprintf(stderr, "train_and_neighbors: error: %s\n", e.what());
    return tokvec::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_and_neighbors: error: %s\n", e.what());
    return 70;
  }
  return 0;
}

#pragma once
// The kind of tokenizer a corpus, a training state or a run was made with. Files and
// config.json record it by name ("bpe", "words"); in memory it is this enum.

#include <optional>
#include <string_view>

namespace tokvec {

enum class TokenizerKind {
  bpe,       ///< a BPE model (tokenizer.bpe); ids are its pieces
  words,     ///< whitespace-separated words; ids index the corpus's own vocabulary
  subwords,  ///< a run's words composed of BPE pieces (train --subwords); corpora and
             ///< states record such a run's tokens as words
};

/// "bpe", "words" or "subwords": the name files and config.json record.
constexpr std::string_view tokenizer_kind_name(TokenizerKind kind) noexcept {
  switch (kind) {
    case TokenizerKind::words: return "words";
    case TokenizerKind::subwords: return "subwords";
    case TokenizerKind::bpe: break;
  }
  return "bpe";
}

/// The kind of a name tokenizer_kind_name gives; nullopt for anything else.
constexpr std::optional<TokenizerKind> parse_tokenizer_kind(std::string_view name) noexcept {
  if (name == "bpe") return TokenizerKind::bpe;
  if (name == "words") return TokenizerKind::words;
  if (name == "subwords") return TokenizerKind::subwords;
  return std::nullopt;
}

}  // namespace tokvec

// The audit's target text: the text a user means to apply the vectors to, tokenised as the
// run trains, so that each of its tokens lands on the row it would use.
#include <unordered_map>

#include "base/io.h"
#include "text/text.h"
#include "text/text_check.h"
#include "text/words.h"
#include "tokvec/audit.h"
#include "tokvec/bpe.h"
#include "tokvec/export.h"
#include "tokvec/status.h"

namespace tokvec {

TargetCounts count_target(const Run& run, const std::string& path) {
  TargetCounts t;
  t.path = path;
  const std::string text = read_file(path);
  // The check training runs on its text: UTF-16, Latin-1 or binary data is refused here
  // rather than counted as unknown words or byte pieces.
  // The audit has no setting to count such bytes anyway: no allow_binary to suggest.
  TextCheck check(path, /*allow_binary=*/false, /*offers_allow_binary=*/false);
  check.check_start(std::string_view(text).substr(0, TextCheck::kSampleBytes), text.size() <= TextCheck::kSampleBytes);
  check.add(tally_text(text));
  t.warning = check.finish();
  const TrainingState& s = run.state;
  t.frequency.assign(s.vocab_size(), 0);
  if (run.is_bpe()) {
    if (!run.model) throw internal_error("a BPE run without its tokenizer");
    BpeEncoder encoder(*run.model);
    std::vector<uint32_t> ids;
    for_each_line(text, [&](std::string_view line) {
      ids.clear();
      encoder.encode_line(line, ids);
      for (uint32_t id : ids) {
        if (id >= t.frequency.size()) throw input_error(path, "", "encodes to token " + std::to_string(id) + ", beyond the run's rows");
        ++t.frequency[id];
      }
      t.tokens += ids.size();
    });
    WordCountConfig wc;
    wc.rule = WordRule::pretokens;
    wc.threads = 1;
    t.words = count_words_in_memory(text, wc);
  } else {
    WordCountConfig wc;
    wc.rule = WordRule::whitespace;
    wc.lowercase = run.lowercase;
    wc.threads = 1;
    std::unordered_map<std::string_view, uint32_t> index;
    index.reserve(s.vocab.size());
    for (uint32_t id = 0; id < s.vocab_size(); ++id) index.emplace(s.vocab[id], id);
    for (WordCount& w : count_words_in_memory(text, wc)) {
      t.tokens += w.count;
      auto it = index.find(w.word);
      if (it != index.end()) {
        t.frequency[it->second] += w.count;
      } else {
        t.unknown_tokens += w.count;
        t.unknown.push_back(std::move(w));
      }
    }
  }
  if (t.tokens == 0) throw input_error(path, "", "the target text holds no token (it is empty or only whitespace)");
  return t;
}

}  // namespace tokvec

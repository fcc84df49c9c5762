// Building a run's corpus: words, BPE (a tokenizer trained or given) or an encoded corpus.
#include <filesystem>

#include "run/session_detail.h"
#include "tokvec/bpe.h"
#include "tokvec/corpus.h"
#include "base/interrupt.h"
#include "base/io.h"
#include "text/text.h"
#include "tokvec/vocab.h"

namespace tokvec::detail {

namespace fs = std::filesystem;

RunCorpus build_corpus(const CorpusPlan& plan, const std::string& dir, RunLog& log, const BeforeWrite& before_write, bool resuming) {
  RunCorpus rc;
  const TrainConfig& cfg = plan.config.train;
  const RunConfig& rc_config = plan.config;
  const std::string tokenizer_file = (fs::path(dir) / "tokenizer.bpe").string();
  const std::string corpus_file = (fs::path(dir) / "corpus.tkc").string();
  bool text_checked = plan.text_checked;
  // The run's tokenizer (BPE and subword runs): given, trained in this run earlier (a
  // resume), or trained now.
  auto tokenizer = [&] {
    std::error_code ec;
    if (!rc_config.tokenizer_path.empty()) {
      rc.model = BpeModel::load(rc_config.tokenizer_path);
      log.line("tokenizer: " + rc_config.tokenizer_path + ", " + std::to_string(rc.model->vocab_size()) + " tokens");
    } else if (resuming && fs::exists(tokenizer_file, ec)) {
      rc.model = BpeModel::load(tokenizer_file);  // resumed: the tokenizer this run trained
      log.line("tokenizer: " + tokenizer_file + " (trained earlier in this run)");
    } else {
      BpeTrainConfig bc;
      bc.inputs = {plan.text_path()};
      bc.vocab_size = rc_config.bpe_vocab;
      bc.threads = cfg.threads;
      bc.quiet = plan.quiet;
      bc.check_text = !text_checked;
      bc.allow_binary = plan.allow_binary;
      bc.on_warning = [&](const std::string& w) { log.line("warning: " + w); };
      rc.model = train_bpe(bc);
      text_checked = true;
      log.line("tokenizer: trained, " + std::to_string(rc.model->vocab_size()) + " tokens");
    }
  };
  if (rc_config.mode == RunMode::words || rc_config.mode == RunMode::subwords) {
    const bool subwords = rc_config.mode == RunMode::subwords;
    if (subwords) tokenizer();
    WordVocabConfig wc;
    wc.min_count = cfg.min_count;
    wc.threads = cfg.threads;
    wc.lowercase = rc_config.lowercase;
    wc.check_text = !text_checked;
    wc.allow_binary = plan.allow_binary;
    wc.on_warning = [&](const std::string& w) { log.line("warning: " + w); };
    if (plan.base_vocab != nullptr) wc.base_vocab = *plan.base_vocab;
    const WordCorpusInfo info = write_word_corpus(plan.text_path(), wc, corpus_file, [&](const WordCorpusInfo& i) {
      if (plan.base_vocab != nullptr) {
        log.line("vocabulary: the source run's " + std::to_string(plan.base_vocab->size()) + " words and " +
                 std::to_string(i.vocab_size - plan.base_vocab->size()) + " new ones with count >= " + std::to_string(cfg.min_count) +
                 " (of " + std::to_string(i.distinct_words) + " distinct in the text), " + std::to_string(i.token_count) + " tokens");
      } else {
        log.line("vocabulary: " + std::to_string(i.vocab_size) + " words with count >= " + std::to_string(cfg.min_count) + " (of " +
                 std::to_string(i.distinct_words) + " distinct), " + std::to_string(i.token_count) + " tokens");
      }
      before_write(i.token_count, i.vocab_size, TokenizerKind::words, i.tokenizer_checksum);
      // Before the corpus: a subword run's corpus is never in the folder without the
      // tokenizer its rows come from.
      if (subwords) rc.model->save(tokenizer_file);
    });
    log.line("corpus: " + std::to_string(info.token_count) + " tokens in " + std::to_string(info.line_count) + " lines, streamed to " +
             corpus_file);
  } else if (rc_config.mode == RunMode::bpe) {
    tokenizer();
    // The ids go straight into corpus.tkc's temporary file as they are encoded (never all in
    // memory); it is renamed into place after config.json and the tokenizer, as before.
    EncodeOptions eo;
    eo.threads = cfg.threads;
    eo.quiet = plan.quiet;
    eo.check_text = !text_checked;  // once per text: the tokenizer's training read it already
    eo.allow_binary = plan.allow_binary;
    eo.on_warning = [&](const std::string& w) { log.line("warning: " + w); };
    const std::vector<std::string> vocab = corpus_vocab(*rc.model);
    CorpusFileWriter writer(corpus_file, TokenizerKind::bpe, rc.model->checksum(), rc_config.input, vocab);
    signal_point("train:encoding");
    const uint64_t tokens = encode_file(*rc.model, plan.text_path(), eo, writer);
    log.line("encoded: " + std::to_string(tokens) + " tokens in " + std::to_string(writer.lines_written()) + " lines");
    before_write(tokens, vocab.size(), TokenizerKind::bpe, rc.model->checksum());
    rc.model->save(tokenizer_file);
    writer.commit();
  } else {
    // The run keeps its own copy, so --resume never depends on the given file. It is
    // copied before before_write, which on --force removes the old run's files: the given
    // corpus may be one of them (`--corpus RUN/corpus.tkc --output RUN --force`).
    std::optional<AtomicFileWriter> copy;
    {
      TokenCorpus given = TokenCorpus::open(rc_config.corpus_path);
      copy.emplace(corpus_file);
      copy_file_to(rc_config.corpus_path, *copy);
      if (!rc_config.tokenizer_path.empty()) {
        rc.model = BpeModel::load(rc_config.tokenizer_path);
        if (given.tokenizer_kind() != TokenizerKind::bpe || given.tokenizer_checksum() != rc.model->checksum()) {
          throw input_error(rc_config.corpus_path, "", "was encoded with another tokenizer (" + std::string(tokenizer_kind_name(given.tokenizer_kind())) + ", checksum " +
                                                      hex64(given.tokenizer_checksum()) + ") than " + rc_config.tokenizer_path +
                                                      " (bpe, checksum " + hex64(rc.model->checksum()) + ")");
        }
      }
      log.line("corpus: " + std::to_string(given.view().tokens.size()) + " tokens, " + std::to_string(given.vocab().size()) + " types");
      before_write(given.view().tokens.size(), given.vocab().size(), given.tokenizer_kind(), given.tokenizer_checksum());
    }
    if (rc.model) rc.model->save(tokenizer_file);
    copy->commit();
  }
  rc.mapped = TokenCorpus::open(corpus_file);
  cfg.validate(rc.view(), corpus_file);
  return rc;
}

}  // namespace tokvec::detail

// Step 1 of BPE training: a oneTBB pipeline reads the files in blocks (serial),
// pre-tokenises and counts each block into a per-thread CountTable (parallel); the tables
// are summed at the end.
#include "text/bpe_count.h"

#include <filesystem>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "base/config.h"
#include "base/io.h"
#include "base/pipeline_slots.h"
#include "base/progress.h"
#include "base/thread_arena.h"
#include "text/text.h"

namespace tokvec::bpe_detail {

CountTable count_pretokens(const BpeTrainConfig& config, int threads) {
  uint64_t total_bytes = 0;  // regular files' sizes (a stream's is unknown): for the progress line
  for (const std::string& path : config.inputs) {
    check_readable_input(path);
    std::error_code ec;
    if (!is_stream_input(path)) total_bytes += std::filesystem::file_size(path, ec);
  }
  ProgressReporter progress("count", total_bytes, "B", config.quiet);
  uint64_t done_before = 0;
  tbb::enumerable_thread_specific<CountTable> tables([] { return CountTable(1 << 16); });
  ThreadArena arena_threads(threads);  // exactly that many threads, with no oneTBB warning above the core count
  tbb::task_arena& arena = arena_threads.arena();
  for (const std::string& path : config.inputs) {
    TextCheck check(input_name(path), config.allow_binary);
    bpe_detail::BlockReader reader(path, config.block_bytes, config.check_text ? &check : nullptr);
    PipelineSlots<bpe_detail::TextBlock> slots;
    arena.execute([&] {
      tbb::parallel_pipeline(
          static_cast<size_t>(2 * threads),
          tbb::make_filter<void, bpe_detail::TextBlock*>(
              tbb::filter_mode::serial_in_order,
              [&](tbb::flow_control& fc) -> bpe_detail::TextBlock* {
                bpe_detail::TextBlock* b = slots.take();
                if (!reader.next(*b)) {
                  slots.give_back(b);
                  fc.stop();
                  return nullptr;
                }
                progress.update(done_before + reader.bytes_read());
                return b;
              }) &
              tbb::make_filter<bpe_detail::TextBlock*, void>(
                  tbb::filter_mode::parallel, [&](bpe_detail::TextBlock* b) {
                    CountTable& table = tables.local();
                    // Line ends are spaces to the pre-tokenizer, which is all counting
                    // needs of them.
                    pretokenize(b->text, b->at_word_start, [&](std::string_view bytes, bool ws, size_t) {
                      table.add(bytes, ws, bpe_detail::hash_pretoken(bytes, ws), 1);
                    });
                    reader.recycle(std::move(b->text));
                    slots.give_back(b);
                  }));
    });
    done_before += reader.bytes_read();
    if (config.check_text) {
      const std::string warning = check.finish();
      if (!warning.empty() && config.on_warning) config.on_warning(input_name(path) + ": " + warning);
    }
  }
  // Sum the per-thread tables into the largest one.
  CountTable* base = nullptr;
  for (CountTable& t : tables) {
    if (base == nullptr || t.size() > base->size()) base = &t;
  }
  CountTable result;
  if (base == nullptr) return result;
  for (CountTable& t : tables) {
    if (&t == base) continue;
    t.for_each([&](std::string_view key, bool flag, uint64_t value) {
      base->add(key, flag, bpe_detail::hash_pretoken(key, flag), value);
    });
    t.clear();
  }
  if (base->size() > 0) progress.finish(done_before, human_count(static_cast<double>(base->size())) + " distinct pre-tokens");
  std::swap(result, *base);
  return result;
}

}  // namespace tokvec::bpe_detail

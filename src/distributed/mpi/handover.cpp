// Handing the job over: rank 0 sends the settings, the vocabulary and counts, the model and
// each rank's shard; the followers receive them. No shared filesystem is needed.
#include "base/io.h"
#include "distributed/mpi/rank_job.h"
#include "tokvec/status.h"

namespace tokvec::distributed {

namespace {

std::string encode_job(const Job& job, const TrainingState& s) {
  ByteWriter w;
  w.str(job.cfg.to_json().dump());
  w.f64(job.sync.every_seconds);
  w.u64(job.sync.rows);
  w.u32(job.sync.full_every);
  w.str(std::string(sync_mode_name(job.sync.mode)));
  w.u64(job.sync.tokens);
  w.u64(job.corpus_tokens);
  w.u64(job.global_total);
  w.u64(s.seed);
  w.u32(s.vocab_size());
  w.u32(s.dim());
  for (const std::string& t : s.vocab) w.str(t);
  for (uint64_t c : s.frequencies) w.u64(c);
  w.str(encode_job_cursor(job.corpus_tokens, job.ranks));
  // A subword run: the words' rows (the followers have no tokenizer to build them from).
  w.u8(job.subwords ? 1 : 0);
  if (job.subwords) {
    const SubwordMap& m = *job.subwords;
    const SubwordConfig& c = m.config();
    w.u8(static_cast<uint8_t>(c.compose));
    w.u8(c.ancestors ? 1 : 0);
    w.u64(c.own_min_count);
    w.u8(c.step == SubwordStep::unit ? 1 : 0);
    w.u32(c.ancestor_min_chars);
    w.u8(c.outputs == SubwordOutputs::pieces ? 1 : 0);
    w.u64(c.piece_damping_count);
    w.u32(m.words());
    w.u32(m.rows());
    w.u64(m.offsets().size());
    for (uint64_t o : m.offsets()) w.u64(o);
    w.u64(m.rows_list().size());
    for (uint32_t r : m.rows_list()) w.u32(r);
  }
  return std::move(w.bytes());
}

}  // namespace

void release_followers(const Comm& comm, int code) {
  uint64_t header[2] = {0, static_cast<uint64_t>(code)};
  comm.bcast(header, 2);
}

void send_job(const Comm& comm, const Job& job, const TrainingState& s, const CorpusView& corpus) {
  uint64_t header[2] = {1, 0};
  comm.bcast(header, 2);
  std::string blob = encode_job(job, s);
  comm.bcast_string(blob);
  uint64_t sum = checksum64(blob);
  comm.bcast(&sum, 1);
  comm.bcast(const_cast<float*>(s.input.storage().data()), s.input.storage().size());
  comm.bcast(const_cast<float*>(s.output.storage().data()), s.output.storage().size());
  for (int r = 1; r < comm.size(); ++r) {
    const auto [b, e] = std::pair(job.ranks[r].begin, job.ranks[r].end);
    comm.send(corpus.tokens.data() + b, e - b, r);
    std::vector<uint64_t> ends = shard_line_ends(corpus.line_ends, b, e);
    uint64_t n = ends.size();
    comm.send(&n, 1, r);
    comm.send(ends.data(), n, r);
  }
}

bool receive_job(const Comm& comm, Job& job, int& code) {
  uint64_t header[2];
  comm.bcast(header, 2);
  if (header[0] == 0) {
    code = static_cast<int>(header[1]);
    return false;
  }
  std::string blob;
  comm.bcast_string(blob);
  uint64_t sum = 0;
  comm.bcast(&sum, 1);
  if (sum != checksum64(blob)) throw internal_error("the job received from rank 0 fails its checksum");
  ByteReader r(blob, "job from rank 0", "JOB");
  job.cfg = TrainConfig::from_json(nlohmann::json::parse(r.str()));
  job.sync.every_seconds = r.f64();
  job.sync.rows = r.u64();
  job.sync.full_every = r.u32();
  const std::string mode = r.str();
  const std::optional<SyncMode> parsed = parse_sync_mode(mode);
  if (!parsed) throw internal_error("the job received from rank 0 names an unknown sync mode '" + mode + "'");
  job.sync.mode = *parsed;
  job.sync.tokens = r.u64();
  job.corpus_tokens = r.u64();
  job.global_total = r.u64();
  TrainingState& s = job.state;
  s.seed = r.u64();
  const uint32_t v = r.u32();
  const uint32_t dim = r.u32();
  s.vocab.resize(v);
  for (std::string& t : s.vocab) t = r.str();
  s.frequencies.resize(v);
  for (uint64_t& c : s.frequencies) c = r.u64();
  job.ranks = *decode_job_cursor(r.str(), "job from rank 0", job.corpus_tokens);
  if (r.u8() != 0) {
    SubwordConfig c;
    const uint8_t compose = r.u8();
    if (compose > static_cast<uint8_t>(SubwordCompose::own_plus_scaled)) {
      throw internal_error("job from rank 0: subword composition " + std::to_string(compose) + " is unknown");
    }
    c.compose = static_cast<SubwordCompose>(compose);
    c.ancestors = r.u8() != 0;
    c.own_min_count = r.u64();
    c.step = r.u8() != 0 ? SubwordStep::unit : SubwordStep::gradient;
    c.ancestor_min_chars = r.u32();
    c.outputs = r.u8() != 0 ? SubwordOutputs::pieces : SubwordOutputs::words;
    c.piece_damping_count = r.u64();
    const uint32_t words = r.u32();
    const uint32_t rows = r.u32();
    std::vector<uint64_t> offsets(r.u64());
    for (uint64_t& o : offsets) o = r.u64();
    std::vector<uint32_t> list(r.u64());
    for (uint32_t& x : list) x = r.u32();
    if (rows != v || words > rows) throw internal_error("the subword rows received from rank 0 do not match its state");
    job.subwords = std::make_shared<const SubwordMap>(SubwordMap::from_parts(c, words, rows, std::move(offsets), std::move(list),
                                                                               std::span<const uint64_t>(s.frequencies).first(words)));
  }
  r.expect_done();
  s.input = Matrix(v, dim);
  s.output = Matrix(v, dim);
  comm.bcast(s.input.storage().data(), s.input.storage().size());
  comm.bcast(s.output.storage().data(), s.output.storage().size());
  const RankCursor& me = job.ranks[comm.rank()];
  job.corpus.owned.resize(me.end - me.begin);
  comm.recv(job.corpus.owned.data(), job.corpus.owned.size(), 0);
  job.corpus.tokens = job.corpus.owned;
  uint64_t n = 0;
  comm.recv(&n, 1, 0);
  job.corpus.line_ends.resize(n);
  comm.recv(job.corpus.line_ends.data(), n, 0);
  // The corpus counts are the words' (a subword run's state also counts its pieces).
  job.corpus.counts.assign(s.frequencies.begin(), s.frequencies.begin() + (job.subwords ? job.subwords->words() : v));
  s.input_updates.assign(v, 0);
  s.output_positive_updates.assign(v, 0);
  s.output_negative_updates.assign(v, 0);
  s.tokens_done = me.tokens_done;
  s.tokens_total = static_cast<uint64_t>(job.cfg.epochs) * (me.end - me.begin);
  s.epochs_done = me.epochs_done;
  s.cursor = me.trainer_cursor;
  return true;
}

}  // namespace tokvec::distributed

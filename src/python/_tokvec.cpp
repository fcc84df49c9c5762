// tokvec._tokvec: the library (include/tokvec) for Python, through pybind11.
//
// The pure-Python package src/python/tokvec wraps these classes with docstrings and helpers
// (most_similar, to_gensim, the audit as a DataFrame); this file only crosses the border.
// Long work (training a tokenizer, encoding many lines, loading a run, the audit) runs
// with the GIL released, so other Python threads keep going.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <csignal>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokvec/audit.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "base/config.h"
#include "tokvec/export.h"
#include "base/io.h"
#include "base/progress.h"
#include "text/text.h"
#include "tokvec/run.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace py = pybind11;

namespace {

using tokvec::BpeEncoder;
using tokvec::BpeModel;

// ---- Errors -------------------------------------------------------------------------------

/// The Python classes of tokvec._errors, by ErrorKind; set once at import, kept for the
/// process's life (never destroyed, so no Python call happens after the interpreter ends).
py::handle* g_error_classes = nullptr;

void raise_error(const tokvec::Error& e) {
  const auto kind = static_cast<size_t>(e.kind());
  PyErr_SetString(g_error_classes[kind].ptr(), e.what());
}

/// A str from bytes that should be UTF-8; bytes that are not (a words run trained with
/// allow_binary) become lone surrogates, as Python's os functions do, instead of failing.
py::str to_str(std::string_view s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

/// The UTF-8 bytes of a str (valid while the str lives).
std::string_view utf8_view(py::handle s) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s.ptr(), &size);
  if (!data) throw py::error_already_set();
  return {data, static_cast<size_t>(size)};
}

/// Python's cyclic garbage collector held off for a scope (restored as it was).
class GcPause {
 public:
#if PY_VERSION_HEX >= 0x030A0000
  GcPause() : was_enabled_(PyGC_Disable()) {}
  ~GcPause() {
    if (was_enabled_) PyGC_Enable();
  }
#else
  GcPause() : was_enabled_(py::module_::import("gc").attr("isenabled")().cast<bool>()) {
    if (was_enabled_) py::module_::import("gc").attr("disable")();
  }
  ~GcPause() {
    if (was_enabled_) py::module_::import("gc").attr("enable")();
  }
#endif
  GcPause(const GcPause&) = delete;
  GcPause& operator=(const GcPause&) = delete;

 private:
  int was_enabled_;
};

// ---- Tokenizer ----------------------------------------------------------------------------

/// A BPE model plus a pool of encoders (each has a cache of pre-token -> ids that makes
/// repeated words cheap). An encoder serves one thread at a time: a call takes one from the
/// pool and gives it back, so any number of Python threads may encode at once and the
/// caches survive between calls.
class Tokenizer {
 public:
  explicit Tokenizer(std::shared_ptr<const BpeModel> model) : model_(std::move(model)) {}

  static std::shared_ptr<Tokenizer> load(const std::string& path) {
    py::gil_scoped_release release;
    return std::make_shared<Tokenizer>(std::make_shared<const BpeModel>(BpeModel::load(path)));
  }

  static std::shared_ptr<Tokenizer> train(const std::vector<std::string>& files, int64_t vocab_size, int64_t min_frequency,
                                          int64_t threads, bool allow_binary) {
    // The ranges of BpeTrainConfig::validate, named as the Python arguments are.
    if (files.empty()) throw tokvec::usage_error("files: give at least one text file");
    tokvec::check_range("vocab_size", vocab_size, int64_t{tokvec::kBpeFixedAlphabet}, int64_t{tokvec::kBpeMaxVocab});
    tokvec::check_range("min_frequency", min_frequency, int64_t{1}, int64_t{1} << 40);
    tokvec::check_range("threads", threads, int64_t{0}, int64_t{tokvec::kMaxThreads});
    tokvec::BpeTrainConfig config;
    config.inputs = files;
    config.vocab_size = static_cast<uint32_t>(vocab_size);
    config.min_frequency = static_cast<uint64_t>(min_frequency);
    config.threads = static_cast<int>(threads);
    config.quiet = true;
    config.allow_binary = allow_binary;
    config.validate();
    py::gil_scoped_release release;
    for (const std::string& in : config.inputs) tokvec::check_readable_input(in);
    return std::make_shared<Tokenizer>(std::make_shared<const BpeModel>(tokvec::train_bpe(config)));
  }

  const BpeModel& model() const { return *model_; }
  const std::shared_ptr<const BpeModel>& model_ptr() const { return model_; }

  std::vector<uint32_t> encode_text(std::string_view text) {
    std::vector<uint32_t> ids;
    Lease lease(*this);
    tokvec::for_each_line(text, [&](std::string_view line) { lease->encode_line(line, ids); });
    return ids;
  }

  /// Texts shorter than this are encoded with the GIL held: they take less time than
  /// letting it go and taking it back, which can mean waiting for another thread's turn.
  static constexpr size_t kReleaseGilBytes = 4096;

  py::list encode_one(py::str text) {
    std::string_view bytes = utf8_view(text);
    std::vector<uint32_t> ids;
    if (bytes.size() < kReleaseGilBytes) {
      ids = encode_text(bytes);
    } else {
      py::gil_scoped_release release;
      ids = encode_text(bytes);
    }
    return id_list(ids);
  }

  /// A list of str as a list of id lists (the Python ints shared from the id table).
  py::list encode_many(py::sequence texts, int threads) {
    Batch b = encode_batch(texts, threads);
    const std::vector<PyObject*>& table = id_objects();
    // Lists of ints hold no cycles: without this, every 700 new lists would start a
    // collection that walks the young ones, a third of the time of making them.
    GcPause pause;
    py::list result(b.texts);
    size_t text = 0;
    for (const Chunk& c : b.chunks) {
      size_t from = 0;
      for (uint64_t end : c.ends) {
        PyObject* l = PyList_New(static_cast<Py_ssize_t>(end - from));
        if (!l) throw py::error_already_set();
        for (size_t k = from; k < end; ++k) {
          PyObject* v = table[c.ids[k]];
          Py_INCREF(v);
          PyList_SET_ITEM(l, static_cast<Py_ssize_t>(k - from), v);
        }
        PyList_SET_ITEM(result.ptr(), static_cast<Py_ssize_t>(text++), l);
        from = end;
      }
    }
    return result;
  }

  /// A list of str as one int32 array of all ids and int64 offsets (texts + 1): text i's
  /// ids are ids[offsets[i]:offsets[i + 1]]. No Python object per id.
  py::tuple encode_flat(py::sequence texts, int threads) {
    Batch b = encode_batch(texts, threads);
    uint64_t total = 0;
    for (const Chunk& c : b.chunks) total += c.ids.size();
    py::array_t<int32_t> ids(static_cast<py::ssize_t>(total));
    py::array_t<int64_t> offsets(static_cast<py::ssize_t>(b.texts + 1));
    int32_t* out = ids.mutable_data();
    int64_t* off = offsets.mutable_data();
    {
      py::gil_scoped_release release;
      uint64_t at = 0;
      size_t text = 0;
      off[0] = 0;
      for (const Chunk& c : b.chunks) {
        // Ids are below kBpeMaxVocab, so they fit an int32.
        std::copy(c.ids.begin(), c.ids.end(), out + at);
        for (uint64_t end : c.ends) off[++text] = static_cast<int64_t>(at + end);
        at += c.ids.size();
      }
    }
    return py::make_tuple(std::move(ids), std::move(offsets));
  }

  py::list pieces(py::str text) {
    std::vector<uint32_t> ids;
    {
      std::string_view bytes = utf8_view(text);
      py::gil_scoped_release release;
      ids = encode_text(bytes);
    }
    py::list result(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) result[i] = to_str(model_->piece(ids[i]));
    return result;
  }

  py::str decode(const std::vector<int64_t>& ids) const {
    std::vector<uint32_t> u(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= int64_t{model_->vocab_size()}) {
        throw py::value_error("decode: id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is not a token id below " +
                              std::to_string(model_->vocab_size()));
      }
      u[i] = static_cast<uint32_t>(ids[i]);
    }
    std::string text;
    {
      py::gil_scoped_release release;
      text = model_->decode(u);
    }
    return to_str(text);
  }

  py::str id_to_piece(int64_t id) const {
    if (id < 0 || id >= int64_t{model_->vocab_size()}) {
      throw py::index_error("id " + std::to_string(id) + " is not a token id below " + std::to_string(model_->vocab_size()));
    }
    return to_str(model_->piece(static_cast<uint32_t>(id)));
  }

  uint32_t piece_to_id(const std::string& piece) {
    std::call_once(index_once_, [&] {
      for (uint32_t id = 0; id < model_->vocab_size(); ++id) index_.emplace(std::string(model_->piece(id)), id);
    });
    auto it = index_.find(piece);
    if (it == index_.end()) throw py::key_error("no token has the piece '" + piece + "'");
    return it->second;
  }

  void save(const std::string& path) const {
    py::gil_scoped_release release;
    model_->save(path);
  }

 private:
  /// One Python int per token id, made once: a list of ids then costs a reference count
  /// per id instead of an allocation (and freeing it, a decrement). Built and read with
  /// the GIL held.
  const std::vector<PyObject*>& id_objects() {
    if (id_objects_.empty()) {
      std::vector<PyObject*> table(model_->vocab_size());
      for (uint32_t id = 0; id < table.size(); ++id) {
        table[id] = PyLong_FromUnsignedLong(id);
        if (!table[id]) {
          for (uint32_t k = 0; k < id; ++k) Py_DECREF(table[k]);
          throw py::error_already_set();
        }
      }
      id_objects_ = std::move(table);
    }
    return id_objects_;
  }

  py::list id_list(const std::vector<uint32_t>& ids) {
    const std::vector<PyObject*>& table = id_objects();
    py::list l(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      PyObject* v = table[ids[i]];
      Py_INCREF(v);
      PyList_SET_ITEM(l.ptr(), static_cast<Py_ssize_t>(i), v);
    }
    return l;
  }

  /// A str's text as the encoder reads it: UTF-8 bytes, or the str's own code units when
  /// it is not ASCII (converted to UTF-8 by the worker, without the GIL: a str is immutable
  /// and the caller holds a reference to each).
  struct Text {
    const void* data;
    size_t length;  ///< in code units
    int kind;       ///< 0: UTF-8 bytes; else PyUnicode_1BYTE/2BYTE/4BYTE_KIND
  };
  /// Consecutive texts encoded by one task: their ids one after the other, and where each
  /// text's ids end.
  struct Chunk {
    size_t first = 0, count = 0;
    std::vector<uint32_t> ids;
    std::vector<uint64_t> ends;
  };
  struct Batch {
    size_t texts = 0;
    std::vector<Chunk> chunks;
  };

  /// The UTF-8 form of a non-ASCII str's code units, into `out`; false at a lone surrogate
  /// (which UTF-8 cannot hold: the caller raises Python's own error for it).
  static bool to_utf8(const Text& t, std::string& out) {
    out.clear();
    for (size_t i = 0; i < t.length; ++i) {
      const uint32_t c = t.kind == PyUnicode_1BYTE_KIND   ? static_cast<const uint8_t*>(t.data)[i]
                         : t.kind == PyUnicode_2BYTE_KIND ? static_cast<const uint16_t*>(t.data)[i]
                                                          : static_cast<const uint32_t*>(t.data)[i];
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
      } else {
        if (c >= 0xD800 && c <= 0xDFFF) return false;
        tokvec::append_utf8(out, c);
      }
    }
    return true;
  }

  Batch encode_batch(py::sequence texts, int threads) {
    tokvec::check_range("threads", int64_t{threads}, int64_t{0}, int64_t{tokvec::kMaxThreads});
    // A list or tuple as it is (others copied into a list): its items stay referenced while
    // the GIL is released, so another thread changing the sequence cannot free them.
    py::object seq = py::reinterpret_steal<py::object>(PySequence_Fast(texts.ptr(), "encode: a sequence of str"));
    if (!seq) throw py::error_already_set();
    const size_t n = static_cast<size_t>(PySequence_Fast_GET_SIZE(seq.ptr()));
    PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
    std::vector<py::object> keep(n);
    std::vector<Text> views(n);
    Batch b;
    b.texts = n;
    // Chunks of about 64 KiB of text: large enough that a task's overhead vanishes, small
    // enough that two threads share any batch of more than a few lines.
    constexpr size_t kChunkBytes = size_t{64} << 10;
    size_t chunk_bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      PyObject* item = items[i];
      if (!PyUnicode_Check(item)) {
        throw py::type_error("encode: item " + std::to_string(i) + " is " + std::string(Py_TYPE(item)->tp_name) + ", not str");
      }
      keep[i] = py::reinterpret_borrow<py::object>(item);
#if PY_VERSION_HEX < 0x030C0000
      if (PyUnicode_READY(item) != 0) throw py::error_already_set();
#endif
      const size_t length = static_cast<size_t>(PyUnicode_GET_LENGTH(item));
      if (PyUnicode_IS_ASCII(item)) {
        views[i] = {PyUnicode_DATA(item), length, 0};
      } else {
        views[i] = {PyUnicode_DATA(item), length, static_cast<int>(PyUnicode_KIND(item))};
      }
      if (b.chunks.empty() || chunk_bytes >= kChunkBytes) {
        b.chunks.emplace_back();
        b.chunks.back().first = i;
        chunk_bytes = 0;
      }
      ++b.chunks.back().count;
      chunk_bytes += length * (views[i].kind ? views[i].kind : 1);
    }
    std::atomic<size_t> bad{SIZE_MAX};
    {
      py::gil_scoped_release release;
      auto work = [&] {
        tbb::parallel_for(tbb::blocked_range<size_t>(0, b.chunks.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
          Lease lease(*this);
          std::string utf8;
          for (size_t c = r.begin(); c < r.end(); ++c) {
            Chunk& chunk = b.chunks[c];
            chunk.ends.reserve(chunk.count);
            for (size_t i = chunk.first; i < chunk.first + chunk.count; ++i) {
              const Text& t = views[i];
              std::string_view text(static_cast<const char*>(t.data), t.length);
              if (t.kind != 0) {
                if (!to_utf8(t, utf8)) {
                  size_t was = bad.load();
                  while (i < was && !bad.compare_exchange_weak(was, i)) {
                  }
                  utf8.clear();
                }
                text = utf8;
              }
              tokvec::for_each_line(text, [&](std::string_view line) { lease->encode_line(line, chunk.ids); });
              chunk.ends.push_back(chunk.ids.size());
            }
          }
        });
      };
      if (threads > 0) {
        tbb::task_arena arena(threads);
        arena.execute(work);
      } else {
        work();
      }
    }
    if (bad.load() != SIZE_MAX) {
      // Python's own UnicodeEncodeError for the first str holding a lone surrogate.
      utf8_view(items[bad.load()]);
      throw py::value_error("encode: item " + std::to_string(bad.load()) + " is not valid Unicode");
    }
    return b;
  }

  /// An encoder from the pool for one call (or one block of a batch).
  class Lease {
   public:
    explicit Lease(Tokenizer& t) : t_(t) {
      {
        std::lock_guard<std::mutex> lock(t_.pool_mutex_);
        if (!t_.pool_.empty()) {
          enc_ = std::move(t_.pool_.back());
          t_.pool_.pop_back();
        }
      }
      if (!enc_) enc_ = std::make_unique<BpeEncoder>(*t_.model_);
    }
    ~Lease() {
      std::lock_guard<std::mutex> lock(t_.pool_mutex_);
      t_.pool_.push_back(std::move(enc_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    BpeEncoder* operator->() { return enc_.get(); }

   private:
    Tokenizer& t_;
    std::unique_ptr<BpeEncoder> enc_;
  };

  std::shared_ptr<const BpeModel> model_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<BpeEncoder>> pool_;
  std::once_flag index_once_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<PyObject*> id_objects_;

 public:
  ~Tokenizer() {
    // Python objects: let go only while the interpreter runs (a tokenizer is released
    // from Python, with the GIL held).
    if (!id_objects_.empty() && Py_IsInitialized()) {
      for (PyObject* o : id_objects_) Py_DECREF(o);
    }
  }
};

// ---- Run ----------------------------------------------------------------------------------

/// A run folder (or state file) loaded once; the numpy arrays handed out are views of its
/// memory and keep it alive.
struct RunHolder {
  tokvec::Run run;
  std::shared_ptr<Tokenizer> tokenizer;
};

std::shared_ptr<RunHolder> load_run(const std::string& path) {
  auto h = std::make_shared<RunHolder>();
  {
    py::gil_scoped_release release;
    h->run = tokvec::load_run(path);
  }
  if (h->run.model) h->tokenizer = std::make_shared<Tokenizer>(h->run.model);
  return h;
}

/// A read-only view of `data` (rows x cols, `row_stride` elements apart) owned by `owner`.
template <typename T>
py::array view(const std::shared_ptr<RunHolder>& owner, const T* data, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides) {
  py::object base = py::cast(owner);
  py::array a(py::dtype::of<T>(), std::move(shape), std::move(strides), data, base);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

py::array matrix_view(const std::shared_ptr<RunHolder>& h, bool output) {
  const tokvec::Matrix& m = output ? h->run.state.output : h->run.state.input;
  const auto f = static_cast<py::ssize_t>(sizeof(float));
  return view<float>(h, m.row(0), {static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())},
                     {static_cast<py::ssize_t>(m.stride()) * f, f});
}

py::array counts_view(const std::shared_ptr<RunHolder>& h, const std::vector<uint64_t>& v) {
  return view<uint64_t>(h, v.data(), {static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(uint64_t))});
}

/// `threshold` < 0: the threshold `stability` derives (tokvec audit --min-updates auto).
py::dict audit_rows(const std::shared_ptr<RunHolder>& h, int64_t threshold, std::optional<std::string> target,
                    std::optional<std::string> stability_run, uint32_t k) {
  tokvec::AuditConfig config;
  config.min_updates = threshold < 0 ? 0 : static_cast<uint64_t>(threshold);
  config.k = k;
  config.validate();
  if (threshold < 0 && !stability_run) throw tokvec::usage_error("threshold='auto' takes the threshold stability= derives: give stability too");
  tokvec::AuditReport report;
  {
    py::gil_scoped_release release;
    std::optional<tokvec::Stability> stability;
    if (stability_run) {
      tokvec::RunState other = tokvec::load_run_state(tokvec::resolve_run_target(*stability_run));
      stability = tokvec::measure_stability(h->run.state, other.state, *stability_run, config.k, tokvec::kStabilityLevel, 0);
      if (threshold < 0) {
        if (!stability->threshold) throw tokvec::input_error(*stability_run, "", "no bucket of updates shares any nearest neighbour with it: no threshold to derive");
        config.min_updates = *stability->threshold;
      }
    }
    const uint64_t seed = h->run.state.seed;
    report = tokvec::audit(h->run.state, config,
                           [seed](uint32_t row, std::span<float> out) { tokvec::initial_input_row(seed, row, out); },
                           std::move(stability));
    if (target) {
      tokvec::TargetCounts counts = tokvec::count_target(h->run, *target);
      tokvec::add_target(report, counts, 20,
                         h->run.is_bpe() ? std::function<std::vector<uint32_t>(std::string_view)>(h->run.encode) : nullptr);
    }
  }
  const size_t n = report.rows.size();
  py::array_t<uint32_t> id(static_cast<py::ssize_t>(n));
  py::array_t<uint64_t> freq(static_cast<py::ssize_t>(n)), in(static_cast<py::ssize_t>(n)), pos(static_cast<py::ssize_t>(n)),
      neg(static_cast<py::ssize_t>(n));
  py::array_t<double> norm(static_cast<py::ssize_t>(n)), drift(static_cast<py::ssize_t>(n));
  py::array_t<bool> flagged(static_cast<py::ssize_t>(n));
  py::list token(n);
  for (size_t i = 0; i < n; ++i) {
    const tokvec::AuditRow& r = report.rows[i];
    id.mutable_at(i) = r.id;
    token[i] = to_str(r.token);
    freq.mutable_at(i) = r.frequency;
    in.mutable_at(i) = r.input_updates;
    pos.mutable_at(i) = r.output_positive_updates;
    neg.mutable_at(i) = r.output_negative_updates;
    norm.mutable_at(i) = r.norm;
    drift.mutable_at(i) = r.drift;
    flagged.mutable_at(i) = r.flagged;
  }
  py::dict d;
  d["id"] = id;
  d["token"] = token;
  d["frequency"] = freq;
  d["input_updates"] = in;
  d["output_positive_updates"] = pos;
  d["output_negative_updates"] = neg;
  d["norm"] = norm;
  d["drift"] = drift;
  d["flagged"] = flagged;
  if (report.target) {
    py::array_t<uint64_t> tf(static_cast<py::ssize_t>(n));
    for (size_t i = 0; i < n; ++i) tf.mutable_at(i) = report.rows[i].target_frequency;
    d["target_frequency"] = tf;
  }
  if (report.stability) {
    py::array_t<double> st(static_cast<py::ssize_t>(n));
    for (size_t i = 0; i < n; ++i) st.mutable_at(i) = report.rows[i].stability;
    d["stability"] = st;
  }
  // The JSON report's objects, as dicts (the same keys as tokvec audit --json).
  const py::object json_loads = py::module_::import("json").attr("loads");
  const py::dict full = json_loads(tokvec::audit_json(report));
  py::dict summary;
  summary["threshold"] = report.threshold;
  summary["vocab_size"] = report.vocab_size;
  summary["corpus_tokens"] = report.corpus_tokens;
  summary["flagged_count"] = report.flagged_count;
  summary["flagged_tokens"] = report.flagged_tokens;
  summary["never_produced"] = report.never_produced;
  summary["flagged_seen_count"] = report.flagged_seen_count;
  for (const char* key : {"geometry", "target", "stability"}) {
    if (full.contains(key)) summary[key] = full[key];
  }
  py::dict result;
  result["rows"] = d;
  result["summary"] = summary;
  return result;
}

/// Rows x dim float32 array (a copy: composed vectors are computed, not stored).
py::array_t<float> embeddings_array(const tokvec::Embeddings& e) {
  py::array_t<float> a({static_cast<py::ssize_t>(e.size()), static_cast<py::ssize_t>(e.dim)});
  std::copy(e.data.begin(), e.data.end(), a.mutable_data());
  return a;
}

py::tuple word_vectors(const std::shared_ptr<RunHolder>& h, const std::vector<std::string>& words) {
  tokvec::Embeddings e;
  size_t missing = 0;
  {
    py::gil_scoped_release release;
    e = tokvec::run_word_vectors(h->run, words, &missing);
  }
  py::list found;
  for (const std::string& w : e.words) found.append(to_str(w));
  return py::make_tuple(found, embeddings_array(e));
}

void export_vectors(const std::shared_ptr<RunHolder>& h, const std::string& path, const std::optional<std::string>& format,
                    const std::string& matrix, const std::optional<std::string>& order) {
  tokvec::VectorFormat f = tokvec::VectorFormat::word2vec_text;
  if (format) f = tokvec::parse_vector_format(*format);
  else if (auto by_name = tokvec::vector_format_of_name(path)) f = *by_name;
  tokvec::MatrixChoice m;
  if (matrix == "input") m = tokvec::MatrixChoice::input;
  else if (matrix == "output") m = tokvec::MatrixChoice::output;
  else throw tokvec::usage_error("matrix must be 'input' or 'output', got '" + matrix + "'");
  // As `tokvec export` orders token rows: id order for BPE runs (row i is token i),
  // frequency order (also id order there) for words runs.
  tokvec::TokenOrder o = order ? tokvec::parse_token_order(*order) : (h->run.is_bpe() ? tokvec::TokenOrder::id : tokvec::TokenOrder::frequency);
  py::gil_scoped_release release;
  std::vector<std::string> inputs{h->run.state_path};
  tokvec::check_output_is_safe("path", path, inputs);
  if (f == tokvec::VectorFormat::npy) tokvec::check_output_is_safe("path", tokvec::npy_vocab_path(path), inputs);
  const tokvec::FolderLock lock = tokvec::lock_if_in_run_folder(path);
  tokvec::write_vectors(path, f, tokvec::token_embeddings(h->run.state, m, o));
}

// ---- Training ---------------------------------------------------------------------------

/// One session at a time per process (the library's signal guard is process-wide).
std::mutex g_session_mutex;

/// The library's progress lines to a Python callable `write(line, redraw)` (None: stderr, as
/// the command prints them). The callable is called with the GIL taken, from whichever
/// thread reports; an exception it raises is reported as unraisable and the work goes on.
std::optional<tokvec::ProgressSink> python_sink(const py::object& write, bool redraw) {
  if (write.is_none()) return std::nullopt;
  tokvec::ProgressSink sink;
  sink.interactive = redraw;
  // A borrowed handle: the caller keeps `write` alive past the session, and the sink may
  // be destroyed without the GIL.
  sink.write = [h = py::handle(write)](std::string_view line, bool redraw_line) {
    py::gil_scoped_acquire gil;
    try {
      h(to_str(line), redraw_line);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("tokvec progress callback");
    }
  };
  return sink;
}

/// Runs a session with the GIL released, naming a bad setting as the Python argument.
template <class F>
py::dict run_session(F f, const py::object& on_progress, bool redraw) {
  tokvec::SessionResult r;
  std::optional<tokvec::ProgressSink> sink = python_sink(on_progress, redraw);
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(g_session_mutex);
    std::optional<tokvec::ScopedProgressSink> installed;
    if (sink) installed.emplace(std::move(*sink));
    try {
      r = f();
    } catch (const tokvec::VocabularyTooLarge& e) {  // the run's own tokenizer: no min_frequency argument
      throw tokvec::Error(e.kind(), e.message("bpe_vocab_size", std::nullopt));
    } catch (const tokvec::RunFolderNotEmpty& e) {
      throw tokvec::Error(e.kind(), "output " + e.dir() + " is not empty; pass force=True to replace its run, or tokvec.resume(\"" +
                                        e.dir() + "\") to continue it (nothing was changed)");
    } catch (const tokvec::FieldError& e) {
      throw e.with_field_name(e.field());
    }
  }
  py::dict d;
  d["outcome"] = r.outcome == tokvec::SessionResult::Outcome::finished           ? "finished"
                 : r.outcome == tokvec::SessionResult::Outcome::already_finished ? "already_finished"
                                                                                 : "stopped";
  d["signal"] = r.signal == SIGTERM ? "SIGTERM" : "SIGINT";
  d["checkpoint"] = r.checkpoint;
  d["state_path"] = r.state_path;
  return d;
}

tokvec::SessionOptions session_options(const std::string& checkpoint_every, int64_t keep, bool progress, bool allow_binary) {
  tokvec::SessionOptions o;
  o.checkpoints.every = tokvec::CheckpointEvery::parse(checkpoint_every);
  tokvec::check_range("keep", keep, int64_t{1}, int64_t{1000});
  o.checkpoints.keep = static_cast<size_t>(keep);
  o.checkpoints.validate();
  o.quiet = !progress;
  o.allow_binary = allow_binary;
  return o;
}

py::dict train_run(const std::string& input, const std::string& output, bool words, std::optional<int64_t> bpe_vocab_size,
                   const std::optional<std::string>& tokenizer, const std::optional<std::string>& corpus, bool lowercase, int64_t dim,
                   int64_t window, int64_t negative, double sample, int64_t min_count, int64_t epochs, int64_t threads, double lr,
                   int64_t seed, const std::string& kernel, const std::string& checkpoint_every, int64_t keep, bool progress, bool force,
                   bool allow_binary, const py::object& on_progress, bool redraw) {
  namespace fs = std::filesystem;
  const tokvec::SessionOptions options = session_options(checkpoint_every, keep, progress, allow_binary);
  // The ranges of TrainConfig::validate, named as the Python arguments are, before the
  // values are narrowed.
  tokvec::check_range("dim", dim, int64_t{1}, int64_t{4096});
  tokvec::check_range("window", window, int64_t{1}, int64_t{100});
  tokvec::check_range("negative", negative, int64_t{1}, int64_t{100});
  tokvec::check_range("min_count", min_count, int64_t{1}, int64_t{1} << 32);
  tokvec::check_range("epochs", epochs, int64_t{1}, int64_t{1000});
  tokvec::check_range("threads", threads, int64_t{0}, int64_t{tokvec::kMaxThreads});
  if (seed < 0) throw tokvec::usage_error("seed must be >= 0, got " + std::to_string(seed));
  tokvec::RunConfig run;
  tokvec::TrainConfig& cfg = run.train;
  cfg.dim = static_cast<uint32_t>(dim);
  cfg.window = static_cast<uint32_t>(window);
  cfg.negative = static_cast<uint32_t>(negative);
  cfg.sample = sample;
  cfg.min_count = static_cast<uint64_t>(min_count);
  cfg.epochs = static_cast<uint32_t>(epochs);
  cfg.threads = static_cast<int>(threads);
  cfg.lr = lr;
  cfg.seed = static_cast<uint64_t>(seed);
  cfg.kernel = tokvec::kernel_from_name(kernel);
  cfg.quiet = !progress;
  cfg.validate();
  if (words && (tokenizer || bpe_vocab_size)) throw tokvec::usage_error("words=True cannot be combined with tokenizer or bpe_vocab_size");
  if (lowercase && !words) throw tokvec::usage_error("lowercase applies to words=True runs (a BPE tokenizer keeps the text's case)");
  if (tokenizer && bpe_vocab_size) throw tokvec::usage_error("give tokenizer or bpe_vocab_size, not both");
  if (corpus && (words || bpe_vocab_size)) throw tokvec::usage_error("corpus trains on an encoded corpus: words and bpe_vocab_size do not apply");
  if (corpus && !input.empty()) throw tokvec::usage_error("give input or corpus, not both");
  if (!corpus && input.empty()) throw tokvec::usage_error("input is required (or corpus)");
  run.mode = corpus ? tokvec::RunMode::corpus : (words ? tokvec::RunMode::words : tokvec::RunMode::bpe);
  run.lowercase = lowercase;
  const int64_t vocab = bpe_vocab_size.value_or(tokvec::BpeTrainConfig{}.vocab_size);
  tokvec::check_range("bpe_vocab_size", vocab, int64_t{tokvec::kBpeFixedAlphabet}, int64_t{tokvec::kBpeMaxVocab});
  run.bpe_vocab = static_cast<uint32_t>(vocab);
  // Absolute paths in config.json, so that resume works from any folder (as the CLI).
  auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  return run_session([&] {
    if (!input.empty()) {
      run.input = tokvec::is_stdin_path(input) ? input : absolute(input);
      tokvec::check_readable_input(run.input);
    }
    if (corpus) {
      run.corpus_path = absolute(*corpus);
      tokvec::check_readable_file(run.corpus_path);
    }
    if (tokenizer) {
      run.tokenizer_path = absolute(*tokenizer);
      tokvec::check_readable_file(run.tokenizer_path);
    }
    return tokvec::TrainingSession::start(run, output, force, options);
  }, on_progress, redraw);
}

py::dict resume_run(const std::string& dir, const std::string& checkpoint_every, int64_t keep, bool progress, const py::object& on_progress,
                    bool redraw) {
  const tokvec::SessionOptions options = session_options(checkpoint_every, keep, progress, false);
  return run_session([&] { return tokvec::TrainingSession::resume(dir, options); }, on_progress, redraw);
}

}  // namespace

PYBIND11_MODULE(_tokvec, m) {
  m.doc() = "tokvec's C++ library; use the tokvec package, which wraps it.";

  // The exception classes live in Python (tokvec/_errors.py): one per ErrorKind.
  py::module_ errors = py::module_::import("tokvec._errors");
  static const char* names[] = {"UsageError", "InputError", "IOError", "CorruptError", "InterruptedError", "InternalError"};
  static_assert(static_cast<int>(tokvec::ErrorKind::internal) == 5);
  g_error_classes = new py::handle[6];
  for (size_t i = 0; i < 6; ++i) {
    py::object cls = errors.attr(names[i]);
    g_error_classes[i] = cls.release();  // a reference kept for the process's life
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const tokvec::Error& e) {
      raise_error(e);
    }
  });

  py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "Tokenizer")
      .def_static("load", &Tokenizer::load, py::arg("path"))
      .def_static("train", &Tokenizer::train, py::arg("files"), py::arg("vocab_size"), py::arg("min_frequency"), py::arg("threads"),
                  py::arg("allow_binary"))
      .def("encode_one", &Tokenizer::encode_one, py::arg("text"))
      .def("encode_many", &Tokenizer::encode_many, py::arg("texts"), py::arg("threads"))
      .def("encode_flat", &Tokenizer::encode_flat, py::arg("texts"), py::arg("threads"))
      .def("pieces", &Tokenizer::pieces, py::arg("text"))
      .def("decode", &Tokenizer::decode, py::arg("ids"))
      .def("id_to_piece", &Tokenizer::id_to_piece, py::arg("id"))
      .def("piece_to_id", &Tokenizer::piece_to_id, py::arg("piece"))
      .def("save", &Tokenizer::save, py::arg("path"))
      .def("serialize", [](const Tokenizer& t) { return py::bytes(t.model().serialize()); })
      .def_property_readonly("vocab_size", [](const Tokenizer& t) { return t.model().vocab_size(); })
      .def_property_readonly("checksum", [](const Tokenizer& t) { return tokvec::hex64(t.model().checksum()); });

  m.def("train", &train_run, py::arg("input"), py::arg("output"), py::arg("words"), py::arg("bpe_vocab_size"), py::arg("tokenizer"),
        py::arg("corpus"), py::arg("lowercase"), py::arg("dim"), py::arg("window"), py::arg("negative"), py::arg("sample"),
        py::arg("min_count"), py::arg("epochs"), py::arg("threads"), py::arg("lr"), py::arg("seed"), py::arg("kernel"),
        py::arg("checkpoint_every"), py::arg("keep"), py::arg("progress"), py::arg("force"), py::arg("allow_binary"),
        py::arg("on_progress"), py::arg("redraw"));
  m.def("resume", &resume_run, py::arg("path"), py::arg("checkpoint_every"), py::arg("keep"), py::arg("progress"), py::arg("on_progress"),
        py::arg("redraw"));

  py::class_<RunHolder, std::shared_ptr<RunHolder>>(m, "Run")
      .def_static("load", &load_run, py::arg("path"))
      .def_property_readonly("state_path", [](const RunHolder& h) { return h.run.state_path; })
      .def_property_readonly("note", [](const RunHolder& h) { return h.run.note; })
      .def_property_readonly("tokenizer_kind", [](const RunHolder& h) { return h.run.tokenizer_kind; })
      .def_property_readonly("config_json", [](const RunHolder& h) { return h.run.state.config_json; })
      .def_property_readonly("tokenizer", [](const RunHolder& h) { return h.tokenizer; })
      .def_property_readonly("dim", [](const RunHolder& h) { return h.run.state.dim(); })
      .def_property_readonly("vocab_size", [](const RunHolder& h) { return h.run.state.vocab_size(); })
      .def_property_readonly("finished", [](const RunHolder& h) { return h.run.state.finished(); })
      .def_property_readonly("seed", [](const RunHolder& h) { return h.run.state.seed; })
      .def_property_readonly("tokens", [](const RunHolder& h) {
        py::list l(h.run.state.vocab.size());
        for (size_t i = 0; i < h.run.state.vocab.size(); ++i) l[i] = to_str(h.run.state.vocab[i]);
        return l;
      })
      .def("vectors", [](const std::shared_ptr<RunHolder>& h) { return matrix_view(h, false); })
      .def("output_vectors", [](const std::shared_ptr<RunHolder>& h) { return matrix_view(h, true); })
      .def("counts", [](const std::shared_ptr<RunHolder>& h) {
        const tokvec::TrainingState& s = h->run.state;
        py::dict d;
        d["frequency"] = counts_view(h, s.frequencies);
        d["input_updates"] = counts_view(h, s.input_updates);
        d["output_positive_updates"] = counts_view(h, s.output_positive_updates);
        d["output_negative_updates"] = counts_view(h, s.output_negative_updates);
        return d;
      })
      .def("audit", &audit_rows, py::arg("threshold"), py::arg("target") = py::none(), py::arg("stability") = py::none(),
           py::arg("k") = 10)
      .def("word_vectors", &word_vectors, py::arg("words"))
      .def("export", &export_vectors, py::arg("path"), py::arg("format"), py::arg("matrix"), py::arg("order"));
}

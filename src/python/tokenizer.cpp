// tokvec._tokvec's Tokenizer: a BPE model for Python, encoding with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/config.h"
#include "base/io.h"
#include "python/bindings.h"
#include "text/text.h"
#include "tokvec/bpe.h"
#include "tokvec/status.h"

namespace tokvec_py {

using tokvec::BpeEncoder;
using tokvec::BpeModel;

namespace {

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

}  // namespace

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

std::shared_ptr<Tokenizer> make_tokenizer(std::shared_ptr<const BpeModel> model) {
  return std::make_shared<Tokenizer>(std::move(model));
}

py::object tokenizer_object(const std::shared_ptr<Tokenizer>& t) { return py::cast(t); }

void bind_tokenizer(py::module_& m) {
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
}

}  // namespace tokvec_py

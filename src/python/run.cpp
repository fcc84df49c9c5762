// tokvec._tokvec's Run: a loaded run folder, its arrays as numpy views, the audit and exports.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/io.h"
#include "python/bindings.h"
#include "tokvec/audit.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"
#include "tokvec/run.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec_py {

namespace {

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
  if (h->run.model) h->tokenizer = make_tokenizer(h->run.model);
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

}  // namespace

void bind_run(py::module_& m) {
  py::class_<RunHolder, std::shared_ptr<RunHolder>>(m, "Run")
      .def_static("load", &load_run, py::arg("path"))
      .def_property_readonly("state_path", [](const RunHolder& h) { return h.run.state_path; })
      .def_property_readonly("note", [](const RunHolder& h) { return h.run.note; })
      .def_property_readonly("tokenizer_kind", [](const RunHolder& h) { return std::string(tokvec::tokenizer_kind_name(h.run.tokenizer_kind)); })
      .def_property_readonly("config_json", [](const RunHolder& h) { return h.run.state.config_json; })
      .def_property_readonly("tokenizer", [](const RunHolder& h) { return tokenizer_object(h.tokenizer); })
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

}  // namespace tokvec_py

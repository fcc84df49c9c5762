// tokvec._tokvec: the library (include/tokvec) for Python, through pybind11.
//
// The pure-Python package src/python/tokvec wraps these classes with docstrings and helpers
// (most_similar, to_gensim, the audit as a DataFrame); this file only crosses the border.
// Long work (training a tokenizer, encoding many lines, loading a run, the audit) runs
// with the GIL released, so other Python threads keep going.
//
// One extension module from several sources: bindings.h is what they share; tokenizer.cpp,
// run.cpp and training.cpp bind one area each.
#include <pybind11/pybind11.h>

#include <cstddef>
#include <exception>

#include "base/config.h"
#include "python/bindings.h"
#include "tokvec/status.h"

namespace {

namespace py = pybind11;

// ---- Errors -------------------------------------------------------------------------------

/// The Python classes of tokvec._errors, by ErrorKind; set once at import, kept for the
/// process's life (never destroyed, so no Python call happens after the interpreter ends).
py::handle* g_error_classes = nullptr;

void raise_error(const tokvec::Error& e) {
  const auto kind = static_cast<size_t>(e.kind());
  PyErr_SetString(g_error_classes[kind].ptr(), e.what());
}

}  // namespace

PYBIND11_MODULE(_tokvec, m) {
  m.doc() = "tokvec's C++ library; use the tokvec package, which wraps it.";

  // Library messages name settings and the way to resume as Python calls them.
  tokvec::set_front_end_names({[](std::string_view field) { return std::string(field); },
                               [](std::string_view dir) { return "tokvec.resume(\"" + std::string(dir) + "\")"; }});

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

  tokvec_py::bind_tokenizer(m);
  tokvec_py::bind_training(m);
  tokvec_py::bind_run(m);
}

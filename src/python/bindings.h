// Internal to the sources of tokvec._tokvec (the module, its tokenizer, run and training
// bindings): what they share.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string_view>

namespace tokvec {
class BpeModel;
}

namespace tokvec_py {

namespace py = pybind11;

/// A str from bytes that should be UTF-8; bytes that are not (a words run trained with
/// allow_binary) become lone surrogates, as Python's os functions do, instead of failing.
inline py::str to_str(std::string_view s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

/// The UTF-8 bytes of a str (valid while the str lives).
inline std::string_view utf8_view(py::handle s) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s.ptr(), &size);
  if (!data) throw py::error_already_set();
  return {data, static_cast<size_t>(size)};
}

/// The Python Tokenizer class (a BPE model and a pool of encoders), defined in tokenizer.cpp.
class Tokenizer;
std::shared_ptr<Tokenizer> make_tokenizer(std::shared_ptr<const tokvec::BpeModel> model);
/// The Python object of `t` (None when null).
py::object tokenizer_object(const std::shared_ptr<Tokenizer>& t);

void bind_tokenizer(py::module_& m);
void bind_run(py::module_& m);
void bind_training(py::module_& m);

}  // namespace tokvec_py

#include "tokvec/matrix.h"

#include <cstring>
#include <new>

namespace tokvec {

namespace {
size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
}  // namespace

Matrix::Matrix(size_t rows, size_t cols)
    : rows_(rows), cols_(cols), stride_(round_up(cols, kRowAlignFloats)) {
  size_t bytes = round_up(rows_ * stride_ * sizeof(float), 64);
  if (bytes == 0) bytes = 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(static_cast<float*>(p));
}

Matrix::Matrix(const Matrix& other) : Matrix(other.rows_, other.cols_) {
  std::memcpy(data_.get(), other.data_.get(), rows_ * stride_ * sizeof(float));
}

Matrix& Matrix::operator=(const Matrix& other) {
  if (this != &other) *this = Matrix(other);
  return *this;
}

}  // namespace tokvec

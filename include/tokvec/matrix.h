// A dense row-major float matrix whose rows start on 64-byte boundaries.
//
// The trainer touches rows at random; padding each row to a multiple of 16 floats keeps a
// row inside whole cache lines and lets SIMD loads be aligned. The padding floats are
// always zero. Matrices of 2 MiB or more start on a 2 MiB boundary and ask for transparent
// huge pages (src/sgns/matrix.cpp says why).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <span>

namespace tokvec {

class Matrix {
 public:
  static constexpr size_t kRowAlignFloats = 16;

  Matrix() = default;
  /// A zero-filled rows x cols matrix.
  Matrix(size_t rows, size_t cols);
  /// The same, its pages first touched (zeroed) by `threads` threads: for a large matrix
  /// the page faults of that first touch are most of the cost of making it, and they run
  /// in parallel.
  Matrix(size_t rows, size_t cols, unsigned threads);
  Matrix(const Matrix& other);
  Matrix& operator=(const Matrix& other);
  Matrix(Matrix&&) noexcept = default;
  Matrix& operator=(Matrix&&) noexcept = default;

  size_t rows() const noexcept { return rows_; }
  size_t cols() const noexcept { return cols_; }
  /// Floats between the starts of two consecutive rows (cols rounded up to 16).
  size_t stride() const noexcept { return stride_; }
  float* row(size_t r) noexcept { return data_.get() + r * stride_; }
  const float* row(size_t r) const noexcept { return data_.get() + r * stride_; }
  /// All rows x stride floats, padding included.
  std::span<float> storage() noexcept { return {data_.get(), rows_ * stride_}; }
  std::span<const float> storage() const noexcept { return {data_.get(), rows_ * stride_}; }

 private:
  struct Free {
    void operator()(float* p) const noexcept { std::free(p); }
  };
  size_t rows_ = 0;
  size_t cols_ = 0;
  size_t stride_ = 0;
  std::unique_ptr<float[], Free> data_;
};

}  // namespace tokvec

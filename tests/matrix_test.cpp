// The embedding matrix: zero-filled, 64-byte aligned rows, and large matrices on 2 MiB
// boundaries (so that transparent huge pages can back them).
#include "tokvec/matrix.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace tokvec {
namespace {

bool all_zero(const Matrix& m) {
  for (float v : m.storage()) {
    if (v != 0.0f) return false;
  }
  return true;
}

TEST(Matrix, SmallAndLargeMatricesAreZeroAndAligned) {
  for (size_t rows : {size_t{3}, size_t{6000}}) {  // 3 x 112 floats; 6000 x 112 floats = 2.6 MiB
    Matrix m(rows, 100);
    EXPECT_EQ(m.stride(), 112u);
    EXPECT_TRUE(all_zero(m)) << rows;
    for (size_t r = 0; r < rows; ++r) ASSERT_EQ(reinterpret_cast<uintptr_t>(m.row(r)) % 64, 0u) << r;
  }
  Matrix large(6000, 100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large.row(0)) % (size_t{2} << 20), 0u);
}

TEST(Matrix, PagesTouchedByManyThreadsAreZeroAndAligned) {
  // 6000 x 112 floats: two 2 MiB chunks, the second one partly used. Written over and
  // freed first, so that a reused block would show any chunk left unzeroed.
  for (unsigned threads : {1u, 2u, 3u}) {
    {
      Matrix dirty(6000, 100, threads);
      for (float& v : dirty.storage()) v = 1.0f;
    }
    Matrix m(6000, 100, threads);
    EXPECT_EQ(m.stride(), 112u);
    EXPECT_TRUE(all_zero(m)) << threads;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.row(0)) % (size_t{2} << 20), 0u) << threads;
  }
  Matrix small(3, 100, 2);
  EXPECT_TRUE(all_zero(small));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.row(0)) % 64, 0u);
}

TEST(Matrix, CopiesAreDeepAndEqual) {
  Matrix a(6000, 100);
  for (size_t r = 0; r < a.rows(); ++r) a.row(r)[r % 100] = static_cast<float>(r);
  Matrix b(a);
  Matrix c;
  c = a;
  a.row(7)[7] = -1.0f;
  for (const Matrix* m : {&b, &c}) {
    ASSERT_EQ(m->rows(), 6000u);
    EXPECT_EQ(m->row(7)[7], 7.0f);
    EXPECT_EQ(m->row(5999)[99], 5999.0f);
  }
}

}  // namespace
}  // namespace tokvec

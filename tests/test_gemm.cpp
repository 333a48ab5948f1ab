#include "testing.hpp"

#include <layerwise/gemm.hpp>

using namespace layerwise;
using layerwise::testing::random_matrix;

TEST_CASE("gemm computes alpha op(A) op(B) + beta C for every transpose combination") {
    const std::size_t m = 5, k = 7, n = 3;
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            CAPTURE(ta);
            CAPTURE(tb);
            const Matrix<double> a = ta ? random_matrix(k, m, 1) : random_matrix(m, k, 1);
            const Matrix<double> b = tb ? random_matrix(n, k, 2) : random_matrix(k, n, 2);
            Matrix<double> c = random_matrix(m, n, 3);
            const Matrix<double> c0 = c;
            gemm(a, ta, b, tb, c, 2.0, 0.5);
            for (std::size_t i = 0; i < m; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    double s = 0;
                    for (std::size_t p = 0; p < k; ++p) s += (ta ? a(p, i) : a(i, p)) * (tb ? b(j, p) : b(p, j));
                    CHECK(c(i, j) == doctest::Approx(2.0 * s + 0.5 * c0(i, j)).epsilon(1e-12));
                }
        }
}

TEST_CASE("gemm handles a single column and a single row (zero strides in xtensor)") {
    const Matrix<float> a = random_matrix<float>(4, 1, 4);
    const Matrix<float> b = random_matrix<float>(1, 3, 5);
    Matrix<float> c = zeros<float>(4, 3);
    gemm(a, false, b, false, c);
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(c(i, j) == doctest::Approx(a(i, 0) * b(0, j)));
}

TEST_CASE("gemm in row bands on two threads gives the single-thread result") {
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            CAPTURE(ta);
            CAPTURE(tb);
            const Matrix<float> a = ta ? random_matrix<float>(96, 200, 5) : random_matrix<float>(200, 96, 5);
            const Matrix<float> b = tb ? random_matrix<float>(70, 96, 6) : random_matrix<float>(96, 70, 6);
            Matrix<float> one = zeros<float>(200, 70), two = zeros<float>(200, 70);
            set_threads(1);
            gemm(a, ta, b, tb, one);
            set_threads(2);
            CHECK(threads() == 2);
            gemm(a, ta, b, tb, two);
            set_threads(1);
            for (std::size_t k = 0; k < one.size(); ++k) CHECK(two.data()[k] == doctest::Approx(one.data()[k]).epsilon(1e-5));
        }
}

TEST_CASE("gemm on a pointer, rows and columns equals gemm on the same Matrix, bit for bit") {
    const Matrix<float> a = random_matrix<float>(6, 4, 7);
    const Matrix<float> b = random_matrix<float>(4, 3, 8);
    const Matrix<float> bt = random_matrix<float>(6, 3, 9);
    Matrix<float> c1 = zeros<float>(6, 3), c2 = zeros<float>(6, 3), d1 = zeros<float>(4, 3), d2 = zeros<float>(4, 3);
    gemm(a, false, b, false, c1);
    gemm(a.data(), 6, 4, false, b, false, c2);
    CHECK(c1 == c2);
    gemm(a, true, bt, false, d1);  // A^T B, as Dense's dW = x^T dy
    gemm(a.data(), 6, 4, true, bt, false, d2);
    CHECK(d1 == d2);
    Matrix<float> rows = zeros<float>(6, 3);  // rows [2, 5) only, from the pointer form
    gemm_rows(a.data(), 6, 4, false, b, false, rows, 2, 5);
    for (std::size_t i = 0; i < 6; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(rows(i, j) == (i >= 2 && i < 5 ? c1(i, j) : 0.0f));
}

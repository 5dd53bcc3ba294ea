"""The blocked thin SVD that gives the feature LP its orthonormal coordinates."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reward_preprocessing.preprocessing import lad
from reward_preprocessing.preprocessing.blocked_svd import thin_svd


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 3 * lad._BLOCK_ROWS + 7),
    cols=st.integers(1, 7),
    repeated=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_thin_svd_is_lapacks_svd_of_the_numerical_rank(rows, cols, repeated, seed):
    """Same singular values and column space as LAPACK's SVD, orthonormal u, the matrix reconstructed; repeated
    columns (a rank-deficient feature map) are dropped by the rank rule, on one block or many."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(rows, cols)) * rng.uniform(0.01, 100.0, size=cols)
    matrix = np.hstack([base, base[:, :repeated] * 3.0])
    u, s, vt = thin_svd(matrix, threads=2)
    expected = np.linalg.svd(matrix, compute_uv=False)
    rank = int((expected > expected[0] * max(matrix.shape) * np.finfo(float).eps).sum())
    assert len(s) == rank == u.shape[1] == vt.shape[0] and u.flags.c_contiguous
    np.testing.assert_allclose(s, expected[:rank], rtol=1e-10, atol=1e-12 * expected[0])
    np.testing.assert_allclose(u.T @ u, np.eye(rank), atol=1e-12)
    np.testing.assert_allclose((u * s) @ vt, matrix, atol=1e-11 * expected[0])
    projection = rng.normal(size=rows)
    reference = np.linalg.svd(matrix, full_matrices=False)[0][:, :rank]
    np.testing.assert_allclose(u @ (u.T @ projection), reference @ (reference.T @ projection), atol=1e-9)


def test_thin_svd_does_not_depend_on_the_thread_count():
    """Fixed blocks, each factored on one BLAS thread: bit-identical on 1 or 3 threads (content caching)."""
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(2 * lad._BLOCK_ROWS + 500, 12))
    with lad.one_blas_thread():
        one, three = thin_svd(matrix, threads=1), thin_svd(matrix, threads=3)
    assert all(np.array_equal(a, b) for a, b in zip(one, three, strict=True))


def test_thin_svd_of_a_zero_matrix_has_rank_zero():
    u, s, vt = thin_svd(np.zeros((2 * lad._BLOCK_ROWS + 1, 3)))
    assert u.shape == (2 * lad._BLOCK_ROWS + 1, 0) and s.shape == (0,) and vt.shape == (0, 3)

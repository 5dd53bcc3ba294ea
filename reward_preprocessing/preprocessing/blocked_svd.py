"""Thin SVD of a tall matrix by a blocked (tall-skinny) QR whose blocks are shared by threads.

Why: the feature LP's orthonormal coordinates come from the SVD of a ~10^5 x 300 matrix. LAPACK's SVD of it runs
on one BLAS thread (deterministic, but 4.3 s at 10^5 x 300); here each fixed block of rows is QR-factored on its
own (single-threaded BLAS, so the same bits on any machine), the stacked R factors are factored again, and the
small R is decomposed. Same block sizes, same order: the result does not depend on how many threads share the
blocks. Backward stable like Householder QR, so singular values far below sqrt(eps) are resolved (a Gram matrix
would lose them, and the feature matrices here have condition numbers near 1e16).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg

from reward_preprocessing.preprocessing.lad import block_slices, thread_count


def thin_svd(matrix: np.ndarray, threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, s, vt) of the numerically nonzero singular values (``s > s[0] * max(shape) * eps``, LAPACK's rank
    rule), s descending: ``matrix ~ u diag(s) vt`` with orthonormal, contiguous u (the columns of
    ``np.linalg.svd(matrix, full_matrices=False)`` for those values, up to signs)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    n, k = matrix.shape
    blocks = block_slices(n)
    if len(blocks) == 1 or n < 2 * k:
        u, s, vt = np.linalg.svd(matrix, full_matrices=False)
        rank = _rank(s, n, k)
        return np.ascontiguousarray(u[:, :rank]), s[:rank], vt[:rank]
    with ThreadPoolExecutor(thread_count(threads, len(blocks))) as pool:
        factors = list(pool.map(lambda rows: scipy.linalg.qr(matrix[rows], mode="economic", check_finite=False),
                                blocks))
        q_stack, r = scipy.linalg.qr(np.vstack([rf for _, rf in factors]), mode="economic", check_finite=False)
        u_r, s, vt = scipy.linalg.svd(r, full_matrices=False, check_finite=False)
        rank = _rank(s, n, k)
        offsets = np.cumsum([0] + [qf.shape[1] for qf, _ in factors])
        right = [q_stack[offsets[i]:offsets[i + 1]] @ u_r[:, :rank] for i in range(len(blocks))]
        u = np.empty((n, rank))

        def rotate(i: int) -> None:
            np.matmul(factors[i][0], right[i], out=u[blocks[i]])

        list(pool.map(rotate, range(len(blocks))))
    return u, s[:rank], vt[:rank]


def _rank(s: np.ndarray, rows: int, cols: int) -> int:
    if not s.size or not s[0] > 0:  # NaN too
        return 0
    return int((s > s[0] * max(rows, cols) * np.finfo(np.float64).eps).sum())

"""The orthogonal Haar transform: orthogonality, exact inverse, known coefficients, errors."""
import pytest
import torch

from scatlab.errors import InvalidParameterError, ShapeError
from scatlab.generation.wavelets import check_lattice, haar2d, haar_decompose, haar_reconstruct, ihaar2d


def _matrix(N: int, levels: int) -> torch.Tensor:
    """The transform as an (N^2, N^2) matrix: its columns are the coefficients of the basis fields."""
    eye = torch.eye(N * N, dtype=torch.float64).reshape(N * N, N, N)
    coarse, details = haar_decompose(eye, levels)
    return torch.cat([coarse.reshape(N * N, -1)] + [d.reshape(N * N, -1) for d in details], dim=1).T


@pytest.mark.parametrize("N, levels", [(2, 1), (8, 1), (8, 3), (16, 2)])
def test_haar_is_orthogonal(N, levels):
    W = _matrix(N, levels)
    torch.testing.assert_close(W @ W.T, torch.eye(N * N, dtype=torch.float64), rtol=0, atol=1e-14)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-14)])
def test_exact_inverse_and_energy(dtype, tol):
    x = torch.randn(3, 2, 32, 32, dtype=dtype)
    coarse, details = haar_decompose(x, 5)
    assert coarse.shape == (3, 2, 1, 1) and [d.shape[-1] for d in details] == [16, 8, 4, 2, 1]
    assert coarse.dtype == dtype
    assert ((haar_reconstruct(coarse, details) - x).norm() / x.norm()) < tol
    energy = coarse.norm() ** 2 + sum(d.norm() ** 2 for d in details)
    assert abs(energy / x.norm() ** 2 - 1) < 10 * tol


def test_known_coefficients():
    block = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    coarse, details = haar2d(block)
    assert coarse.item() == 5.0  # (1 + 2 + 3 + 4) / 2
    assert details.flatten().tolist() == [-1.0, -2.0, 0.0]  # column, row and diagonal differences
    constant = torch.full((8, 8), 3.0, dtype=torch.float64)
    c, ds = haar_decompose(constant, 3)
    assert c.item() == pytest.approx(24.0) and all(d.abs().max() == 0 for d in ds)  # 3 * 8: the mean times N


def test_errors_name_the_problem():
    with pytest.raises(InvalidParameterError, match="'L'.*power of two"):
        check_lattice(24)
    assert check_lattice(64) == 6
    with pytest.raises(ShapeError, match="even"):
        haar2d(torch.zeros(5, 5))
    with pytest.raises(ShapeError, match="square"):
        haar2d(torch.zeros(4, 6))
    with pytest.raises(InvalidParameterError, match="levels"):
        haar_decompose(torch.zeros(12, 12), 3)
    with pytest.raises(ShapeError, match="details"):
        ihaar2d(torch.zeros(4, 4), torch.zeros(3, 2, 2))

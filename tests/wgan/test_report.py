"""wgan.report: the Wasserstein estimate at each evaluation and its rank correlation with FID."""
import numpy as np
import pytest

from wgan import report


def test_wasserstein_at_evaluations_averages_since_the_previous_one():
    log = {"iteration": np.array([0, 1, 2, 3, 4], float),
           "wasserstein": np.array([np.nan, 1.0, 3.0, 5.0, 7.0]),
           "fid": np.array([100.0, np.nan, 50.0, np.nan, 20.0])}
    it, fid, w = report.wasserstein_at_evaluations(log)
    np.testing.assert_array_equal(it, [0, 2, 4])
    np.testing.assert_array_equal(fid, [100, 50, 20])
    assert np.isnan(w[0]) and w[1] == 2.0 and w[2] == 6.0
    rho, p, n = report.spearman(w, fid)
    assert n == 2 and np.isnan(rho)
    rho, p, n = report.spearman([1, 2, 3, 4], [10, 8, 7, 1])
    assert rho == pytest.approx(-1) and n == 4
    assert np.isnan(report.spearman([1, 1, 1], [1, 2, 3])[0])

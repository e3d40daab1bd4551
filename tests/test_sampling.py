"""Sampling: stratified subsets and class weights, without Keras."""

import numpy as np
import pytest

from fercourse import sampling


def test_balanced_class_weights():
    w = sampling.class_weights([0, 0, 0, 1], num_classes=3)
    # n / (classes present * n_c): 4 / (2 * 3) and 4 / (2 * 1); absent class 2 gets 0
    np.testing.assert_allclose(w, [4 / 6, 2.0, 0.0])


def test_class_weight_array_forms():
    y = np.array([0, 0, 1])
    assert sampling.class_weight_array(None, y, 2) is None
    np.testing.assert_allclose(sampling.class_weight_array({1: 3.0}, y, 2), [1.0, 3.0])
    np.testing.assert_allclose(sampling.class_weight_array([0.5, 2], y, 2), [0.5, 2.0])
    with pytest.raises(ValueError, match="names class 5; classes are 0..1"):
        sampling.class_weight_array({5: 1.0}, y, 2)
    with pytest.raises(ValueError, match=r"one weight per class \(2\)"):
        sampling.class_weight_array([1, 2, 3], y, 2)
    with pytest.raises(ValueError, match="class_weight='rare' is not known"):
        sampling.class_weight_array("rare", y, 2)


def test_stratified_subset_keeps_proportions():
    y = np.array([0] * 80 + [1] * 15 + [2] * 5)
    x = np.arange(100)
    xs, ys = sampling.stratified_subset(x, y, 20, seed=1)
    assert len(ys) == 20 and np.bincount(ys).tolist() == [16, 3, 1]
    assert np.array_equal(y[xs], ys)
    assert sampling.stratified_subset(x, y, None)[0] is not None
    with pytest.raises(ValueError, match="positive number"):
        sampling.stratified_subset(x, y, 0)


def test_sampling_needs_no_keras():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(sampling))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names} | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any("keras" in (m or "") or "tensorflow" in (m or "") for m in imported)

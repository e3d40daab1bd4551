"""Chapter 8's exercise checks say "correct" to right answers and why not to wrong ones."""

import numpy as np

from fercourse.exercises import ch08
from fercourse.multitask import AUS


def test_ccc_check():
    def mine(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return 2 * np.mean((x - x.mean()) * (y - y.mean())) / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)

    assert ch08.check_ccc(mine)
    pearson = ch08.check_ccc(lambda x, y: np.corrcoef(x, y)[0, 1])
    assert not pearson and "Pearson" in str(pearson)

    def sample_moments(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return 2 * np.cov(x, y)[0, 1] / (x.var(ddof=1) + y.var(ddof=1) + (x.mean() - y.mean()) ** 2)

    assert "n - 1" in str(ch08.check_ccc(sample_moments))
    assert "raised" in str(ch08.check_ccc(lambda x, y: 1 / 0))


def test_dm_target_check():
    right = {1: 0.3, 2: 0.3, 5: 0.3 * 0.66, 6: 0.6 * 0.51, 12: 0.6, 25: 0.9, 26: 0.3}
    verdict = ch08.check_dm_target(right)
    assert verdict, str(verdict)
    vector = np.zeros(17)
    for au, q in right.items():
        vector[AUS.index(au)] = q
    assert ch08.check_dm_target(vector)
    assert ch08.check_dm_target({f"AU{k}": v for k, v in right.items()})
    binary = {**right, 5: 0.3, 6: 0.6}
    assert "fractions" in str(ch08.check_dm_target(binary))
    assert "AU25" in str(ch08.check_dm_target({**right, 25: 0.6}))
    assert "not one of the 17" in str(ch08.check_dm_target({43: 1.0}))
    assert not ch08.check_dm_target([0.1, 0.2])


def test_masked_loss_check():
    def mine(y, p, w):
        per_face = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
        return float(np.sum(w * per_face) / w.sum()) if w.sum() > 0 else 0.0

    assert ch08.check_masked_au_loss(mine)

    def by_batch_size(y, p, w):
        per_face = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
        return float(np.sum(w * per_face) / len(w))

    assert "batch size" in str(ch08.check_masked_au_loss(by_batch_size))

    def ignores_weights(y, p, w):
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    assert not ch08.check_masked_au_loss(ignores_weights)

"""Checks for chapter 2's exercises (finding and cropping faces)."""

from __future__ import annotations

import numpy as np

from fercourse.exercises import Verdict, correct, wrong


class _CountingArray(np.ndarray):
    """An array that counts how many entries are read through indexing."""

    reads = 0

    def __getitem__(self, key):
        result = super().__getitem__(key)
        if isinstance(key, (int, np.integer)) and isinstance(result, np.ndarray) and result.ndim:
            return result  # a row view (ii[y][x]): counted when an entry of it is read
        result = np.asarray(result)
        _CountingArray.reads += result.size
        return result[()] if result.ndim == 0 else result


def check_rectangle_sum(func, trials: int = 200, seed: int = 0) -> Verdict:
    """Check ``func(ii, x, y, w, h)``: the sum of ``image[y:y+h, x:x+w]`` from its integral image.

    ``ii`` is laid out as :func:`fercourse.faces.integral_image` lays it out (one extra
    zero row and column).  The answer must be exact on random images and rectangles
    (single pixels, whole images, empty rectangles included) and read at most four entries
    of ``ii`` per call: constant time, whatever the rectangle's size.
    """
    from fercourse.faces import integral_image

    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(trials):
        h_img, w_img = rng.integers(1, 40, size=2)
        image = rng.integers(0, 256, size=(h_img, w_img), dtype=np.uint8)
        x, y = int(rng.integers(0, w_img)), int(rng.integers(0, h_img))
        w, h = int(rng.integers(0, w_img - x + 1)), int(rng.integers(0, h_img - y + 1))
        cases.append((image, x, y, w, h))
    image = rng.integers(0, 256, size=(7, 9), dtype=np.uint8)
    cases += [(image, 0, 0, 9, 7), (image, 8, 6, 1, 1), (image, 3, 2, 0, 4)]
    most_reads = 0
    for image, x, y, w, h in cases:
        ii = integral_image(image).view(_CountingArray)
        _CountingArray.reads = 0
        try:
            got = func(ii, x, y, w, h)
        except Exception as error:  # the reader's code: report any failure as a verdict
            return wrong(f"func(ii, x={x}, y={y}, w={w}, h={h}) raised {type(error).__name__}: {error}")
        most_reads = max(most_reads, _CountingArray.reads)
        want = int(image[y:y + h, x:x + w].sum(dtype=np.int64))
        try:
            got_value = float(np.asarray(got))
        except (TypeError, ValueError):
            return wrong(f"func returned {got!r} for x={x}, y={y}, w={w}, h={h}; expected a number")
        if got_value != want:
            return wrong(f"for an image of shape {image.shape} and x={x}, y={y}, w={w}, h={h} "
                         f"the sum is {want}, func returned {got!r}")
    if most_reads > 4:
        return wrong(f"the sums are right, but one call read {most_reads} entries of ii; "
                     "four look-ups (the rectangle's corners) are enough for any rectangle")
    return correct(f"exact on {len(cases)} rectangles, with at most {most_reads} look-ups each.")


def check_parameter_choice(table, choice, target_recall: float) -> Verdict:
    """Check a detector setting picked from chapter 2's parameter study.

    ``table`` holds one row per setting with columns ``scale_factor``, ``min_neighbors``,
    ``min_size``, ``recall`` and ``false_positives``; ``choice`` is a dict with the first
    three.  Correct when the choice reaches ``target_recall`` with the fewest false
    positives any setting in the table reaching it has.
    """
    import pandas as pd

    table = pd.DataFrame(table)
    keys = ("scale_factor", "min_neighbors", "min_size")
    missing = [k for k in keys if k not in choice]
    if missing:
        return wrong(f"choice needs the keys {', '.join(keys)}; missing {', '.join(missing)}")
    row = table
    for key in keys:
        row = row[row[key] == choice[key]]
    if row.empty:
        return wrong(f"{choice} is not one of the table's settings")
    row = row.iloc[0]
    reaching = table[table["recall"] >= target_recall]
    if reaching.empty:
        return wrong(f"no setting in the table reaches recall {target_recall}; lower the target")
    fewest = int(reaching["false_positives"].min())
    if row["recall"] < target_recall:
        return wrong(f"recall {row['recall']:.2f} is below the target {target_recall}")
    if row["false_positives"] > fewest:
        return wrong(f"{int(row['false_positives'])} false positives; a setting reaching the target "
                     f"with {fewest} exists")
    return correct(f"recall {row['recall']:.2f} with {fewest} false positives, the fewest at that target.")

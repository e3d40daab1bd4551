"""Metrics for expression classifiers: the numbers the works report, from labels and probabilities.

- :func:`accuracy`, :func:`top_k_accuracy` (mememoji's "second guess" is top-2);
- :func:`per_class_accuracy`: the table Alizadeh & Fazel print (accuracy within each true class);
- :func:`confusion` (counts, or normalised by true class, predicted class or all) and
  :func:`normalize_confusion`, the one normalisation (the plots use it too);
- :func:`macro_f1` and :func:`uar` (unweighted average recall, the mean of the per-class
  accuracies: what FER2013's imbalance -- 547 disgust faces -- makes worth reporting);
- :func:`report`: all of them at once; :func:`predict_proba`: a model's class probabilities.

Labels are integers ``0..k-1`` indexing the class names (:data:`fercourse.labels.EMOTIONS`).
scikit-learn computes the scores; the functions here check the inputs first, so a mistake reads
as the course's error (which argument, what was expected) rather than scikit-learn's.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy", "top_k_accuracy", "per_class_accuracy", "confusion", "normalize_confusion", "macro_f1", "uar",
    "uf1",
    "report", "predict", "predict_proba", "mirror_average", "evaluate_model",
]


def _labels(y, name="y_true", num_classes=None):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer labels; got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer labels; got dtype {y.dtype}")
    if num_classes is not None and y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)]
        raise ValueError(f"{name} holds labels out of range 0..{num_classes - 1}: e.g. {bad[:5].tolist()}")
    if num_classes is None and y.size and y.min() < 0:
        raise ValueError(f"{name} holds negative labels: e.g. {y[y < 0][:5].tolist()}")
    return y


def _pair(y_true, y_pred, num_classes=None):
    y_true = _labels(y_true, "y_true", num_classes)
    y_pred = _labels(y_pred, "y_pred", num_classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("no labels to score (empty arrays)")
    k = num_classes if num_classes is not None else int(max(y_true.max(), y_pred.max()) + 1)
    return y_true, y_pred, k


def _probs(probs, n=None):
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2:
        raise ValueError(f"probs must be an (N, num_classes) array; got shape {probs.shape}")
    if n is not None and len(probs) != n:
        raise ValueError(f"y_true has {n} labels but probs has {len(probs)} rows")
    bad = np.flatnonzero(~np.isfinite(probs).all(axis=1))
    if len(bad):
        raise ValueError(f"probs holds NaN or infinite values, e.g. in row(s) {bad[:5].tolist()}")
    return probs


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the true label."""
    from sklearn.metrics import accuracy_score

    y_true, y_pred, _ = _pair(y_true, y_pred)
    return float(accuracy_score(y_true, y_pred))


def top_k_accuracy(y_true, probs, k=2) -> float:
    """Fraction of faces whose true class is among the ``k`` most probable ones.

    ``k`` equal to the number of classes gives 1.0 (every class is among them).  Ties between
    equal probabilities are broken as scikit-learn's ``top_k_accuracy_score`` breaks them.
    """
    from sklearn.metrics import top_k_accuracy_score

    y_true = _labels(y_true)
    probs = _probs(probs, len(y_true))
    num_classes = probs.shape[1]
    y_true = _labels(y_true, "y_true", num_classes)
    if not 1 <= k <= num_classes:
        raise ValueError(f"k must lie in 1..{num_classes} (the number of classes); got {k}")
    if len(y_true) == 0:
        raise ValueError("no labels to score (empty arrays)")
    # scikit-learn refuses k = number of classes as meaningless, and reads two columns as a
    # binary problem wanting one score column; both cases are plain here.
    if k == num_classes:
        return 1.0
    if num_classes == 2:
        return accuracy(y_true, probs.argmax(axis=1))
    return float(top_k_accuracy_score(y_true, probs, k=k, labels=np.arange(num_classes)))


def confusion(y_true, y_pred, num_classes=None, normalize=None) -> np.ndarray:
    """Confusion matrix, rows = true class, columns = predicted class.

    ``normalize``: None (counts), ``"true"`` (each row sums to 1: per-class recall on the
    diagonal), ``"pred"`` (each column sums to 1) or ``"all"`` -- see :func:`normalize_confusion`.
    """
    from sklearn.metrics import confusion_matrix

    _check_normalize(normalize)
    y_true, y_pred, k = _pair(y_true, y_pred, num_classes)
    cm = confusion_matrix(y_true, y_pred, labels=np.arange(k))
    return cm if normalize is None else normalize_confusion(cm, normalize)


def normalize_confusion(cm, normalize="true") -> np.ndarray:
    """A confusion matrix of counts as fractions: of each true class (``"true"``: rows sum to 1),
    of each predicted class (``"pred"``: columns sum to 1) or of all faces (``"all"``).

    ``normalize=None`` gives the counts back, as floats.  Rows or columns with no faces stay 0
    rather than becoming NaN.  Written here rather than
    taken from ``sklearn.metrics.confusion_matrix(normalize=...)``, which normalises only a
    matrix it computes itself: the plots get counts, and normalise them with this same rule.
    """
    _check_normalize(normalize)
    cm = np.asarray(cm, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square matrix; got shape {cm.shape}")
    if normalize is None:
        return cm
    if normalize == "all":
        total = cm.sum()
        return cm / total if total > 0 else np.zeros_like(cm)
    sums = cm.sum(axis=1 if normalize == "true" else 0, keepdims=True)
    return np.divide(cm, sums, out=np.zeros_like(cm), where=sums > 0)


def _check_normalize(normalize):
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}")


def per_class_accuracy(y_true, y_pred, class_names=None):
    """Accuracy within each true class (= recall), as a DataFrame indexed by class name.

    Columns: ``n`` (faces of that class), ``correct``, ``accuracy`` (NaN where ``n`` is 0).
    """
    import pandas as pd

    k = len(class_names) if class_names is not None else None
    y_true, y_pred, k = _pair(y_true, y_pred, k)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    cm = confusion(y_true, y_pred, k)
    n, correct = cm.sum(axis=1), np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(n > 0, correct / np.maximum(n, 1), np.nan)
    return pd.DataFrame({"n": n, "correct": correct, "accuracy": acc}, index=pd.Index(names, name="class"))


def uar(y_true, y_pred, num_classes=None) -> float:
    """Unweighted average recall (balanced accuracy): the mean of per-class accuracies over the
    classes present in ``y_true``."""
    from sklearn.metrics import recall_score

    y_true, y_pred, _ = _pair(y_true, y_pred, num_classes)
    # scikit-learn's balanced_accuracy_score gives the same figure but warns whenever a
    # prediction names a class absent from y_true; recall over the present classes does not.
    return float(recall_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0))


def macro_f1(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged F1 over the classes present in ``y_true`` or ``y_pred`` (scikit-learn)."""
    from sklearn.metrics import f1_score

    y_true, y_pred, _ = _pair(y_true, y_pred, num_classes)
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def uf1(y_true, y_pred, num_classes=None) -> float:
    """Unweighted F1, as micro-expression benchmarks (MEGC) report it beside :func:`uar`.

    Each class's F1 = 2 TP / (2 TP + FP + FN) from the counts of the *pooled* predictions (all
    leave-one-subject-out folds together, not a mean of per-fold scores), averaged over the
    classes present in ``y_true`` -- the task's classes -- with equal weight however rare.
    """
    from sklearn.metrics import f1_score

    y_true, y_pred, _ = _pair(y_true, y_pred, num_classes)
    return float(f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0))


def report(y_true, probs, class_names) -> dict:
    """All the scores of a classifier from its probabilities.

    Returns a dict: ``accuracy``, ``top2_accuracy``, ``macro_f1``, ``uar``, ``n`` (floats/int),
    ``per_class`` (DataFrame from :func:`per_class_accuracy`), ``confusion`` (counts) and
    ``confusion_normalized`` (rows sum to 1).
    """
    class_names = list(class_names)
    y_true = _labels(y_true)
    probs = _probs(probs, len(y_true))
    if probs.shape[1] != len(class_names):
        raise ValueError(f"probs has {probs.shape[1]} columns but there are {len(class_names)} class names")
    y_true = _labels(y_true, "y_true", len(class_names))
    y_pred = probs.argmax(axis=1)
    k = len(class_names)
    return {
        "n": int(len(y_true)),
        "accuracy": accuracy(y_true, y_pred),
        "top2_accuracy": top_k_accuracy(y_true, probs, min(2, k)),
        "macro_f1": macro_f1(y_true, y_pred, k),
        "uar": uar(y_true, y_pred, k),
        "per_class": per_class_accuracy(y_true, y_pred, class_names),
        "confusion": confusion(y_true, y_pred, k),
        "confusion_normalized": confusion(y_true, y_pred, k, normalize="true"),
    }


def predict_proba(model, images, batch_size=256, *, tta=None) -> np.ndarray:
    """Class probabilities ``(N, num_classes)`` of a Keras model for images ``(N, H, W)`` or ``(N, H, W, C)``.

    Images are given as the models take them: pixel values 0..255.  ``tta="flip"`` averages the
    probabilities of each face and its mirror image (test-time augmentation: twice the
    inference, usually a point or two of accuracy for a network trained with flips).
    """
    if tta not in (None, "flip"):
        raise ValueError(f"tta must be None or 'flip'; got {tta!r}")
    x = _model_input(model, images)
    probs = _predict(model, x, batch_size)
    return mirror_average(model, x, probs, batch_size) if tta == "flip" else probs


def mirror_average(model, images, probs, batch_size=256) -> np.ndarray:
    """``predict_proba(model, images, tta="flip")`` from ``probs`` already predicted for ``images``.

    For a caller that wants both figures, with and without the mirror images, at the cost of
    one more pass over the faces rather than two.
    """
    x = _model_input(model, images)
    probs = np.asarray(probs, dtype="float32")
    if probs.shape != (len(x), model.output_shape[-1]):
        raise ValueError(f"probs must be one row of {model.output_shape[-1]} probabilities per image, "
                         f"{(len(x), model.output_shape[-1])}; got shape {probs.shape}")
    return (probs + _predict(model, x[:, :, ::-1], batch_size)) / 2


def _model_input(model, images):
    """``images`` as the batch ``(N, H, W, C)`` that ``model`` takes, or a clear error."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    want = tuple(model.input_shape[1:])
    if x.ndim != 4 or any(w is not None and w != g for w, g in zip(want, x.shape[1:])):
        raise ValueError(f"{model.name} takes images of shape {want}; got an array of shape {np.shape(images)}")
    return x


def predict(model, x, batch_size: int = 256):
    """``model``'s outputs for ``x``, batch by batch: an array, or a dict of arrays for named outputs.

    ``x`` is what the model takes: an array (images, clips, feature vectors) or a dict
    ``{input name: array}``.  The model is called directly on each batch rather than through
    ``model.predict``, which traces a graph for every new model (and again for a last, smaller
    batch): 0.3-0.5 s each time, more than scoring a small test set takes, in chapters that score
    dozens of networks.
    """
    import keras

    sizes = {len(v) for v in x.values()} if isinstance(x, dict) else {len(x)}
    if len(sizes) != 1:
        raise ValueError(f"predict: the inputs have different lengths: "
                         f"{ {k: len(v) for k, v in x.items()} }")
    n = sizes.pop()
    if n == 0:
        raise ValueError("predict: no inputs (x is empty)")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be positive; got {batch_size!r}")
    parts = []
    for i in range(0, n, int(batch_size)):
        batch = ({k: np.asarray(v[i:i + batch_size], "float32") for k, v in x.items()} if isinstance(x, dict)
                 else np.asarray(x[i:i + batch_size], "float32"))
        out = model(batch, training=False)
        parts.append({k: keras.ops.convert_to_numpy(v) for k, v in out.items()} if isinstance(out, dict)
                     else keras.ops.convert_to_numpy(out))
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def _predict(model, x, batch_size):
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype="float32")
    return predict(model, x, batch_size).astype("float32")


def evaluate_model(model, images, labels, class_names, batch_size=256) -> dict:
    """:func:`report` of ``model`` on ``images`` and ``labels``, plus the probabilities (``probs``)."""
    probs = predict_proba(model, images, batch_size)
    rep = report(labels, probs, class_names)
    rep["probs"] = probs
    return rep

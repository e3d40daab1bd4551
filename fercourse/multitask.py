"""FaceBehaviorNet's losses and metrics: one network for expressions, action units and affect.

FaceBehaviorNet :cite:`kollias2021facebehaviornet` has one trunk and three heads -- the seven
basic expressions (softmax), 17 action units (sigmoids) and valence/arousal (tanh) -- and trains on
datasets that each label only part of this.  This module holds what that takes, written once:

**Masked losses.**  Every face carries a weight per task (``sample_weight[task]``, the form
:func:`fercourse.train.fit` passes on); weight 0 means "this label is missing".  Each task's loss
is a *weighted mean over the faces whose label is known*, so a masked face contributes exactly
nothing: the loss of a batch is the same with the face as without it.

- :func:`expression_loss`: cross-entropy (integer labels or probability targets);
- :func:`au_loss`: binary cross-entropy per AU, averaged over the AUs;
- :func:`va_loss`: ``1 - CCC`` averaged over valence and arousal, the concordance correlation
  coefficient :cite:`lin1989ccc` computed over the labelled faces of the batch.

**Coupling through the emotion -> AU table** (:func:`relation_matrix`, from
:data:`fercourse.facs.RELATIONS`, Du, Tao & Martinez's Table 1 :cite:`du2014compound`):

- *co-annotation*: a face with an expression label and no AU label gets soft AU targets, the
  table's row for its expression (:func:`expected_aus` of a one-hot); a face with AU labels and
  no expression label gets soft expression targets (:func:`expression_posterior`);
- *distribution matching*: the AU probabilities that the expression head implies,
  ``q(AU|x) = sum_e p(e|x) w(AU|e)`` (:func:`expected_aus`), are matched with the AU head's, on
  every face, labelled or not (:func:`distribution_matching_loss`).

Each coupling is switched on and weighted by :class:`Coupling`.  :func:`multitask_loss` puts all
the terms together; :class:`fercourse.models.FaceBehaviorNet` calls it as its loss.

**Metrics** (NumPy, after training): expression accuracy and macro-F1 (from
:mod:`fercourse.evaluate`), per-AU and mean F1, CCC of valence and of arousal, and the ABAW-style
sum of the three tasks' scores -- :func:`scores`.

The losses use Keras 3 ops only, so they run on the TensorFlow and JAX backends alike.

Why one module of about 450 lines, above the package's ~400: the masked losses, the two
couplings and the scores read the same task names, masks and emotion -> AU matrix, and the loss
a network trains on (:func:`multitask_loss`) is the sum of the terms defined here.  The NumPy
metrics at the end (:func:`ccc`, :func:`au_f1`, :func:`scores`) are what would move out first
if it grew.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import facs
from .labels import EMOTIONS

__all__ = [
    "TASKS", "AUS", "AU_PRESENT", "RELATION_SOURCES", "relation_matrix", "expected_aus",
    "expression_posterior", "au_presence", "Coupling", "masked_mean", "expression_loss", "au_loss",
    "concordance", "va_loss", "co_annotation_losses", "distribution_matching_loss",
    "multitask_loss", "ccc", "au_f1", "scores", "predict_outputs",
]

TASKS = ("expression", "aus", "va")
"""The three heads, by the names of the network's outputs (and of the keys of ``y`` and of
``sample_weight``): expression probabilities (7), AU probabilities (17), valence and arousal (2)."""

AUS: tuple[int, ...] = facs.EXPRESSION_AUS
"""FaceBehaviorNet's 17 AUs, in the order of the AU head's outputs (:data:`fercourse.facs.AUS`
without eye closure and blink)."""

AU_PRESENT = facs.FACS_GRADES["A"]
"""An AU counts as present from FACS's trace level (grade A) up: intensity >= 0.2.  Fainter
movements (the synthetic faces' neutral twitches) are not coded as present."""

RELATION_SOURCES = ("du2014", "synthetic")

_EPS = 1e-7


# --------------------------------------------------------------------------- the relation table
def relation_matrix(source: str = "du2014", *, binary: bool = False, emotions=EMOTIONS, aus=AUS) -> np.ndarray:
    """The emotion -> AU table as a matrix ``W``: ``W[e, a]`` is w(AU a | expression e).

    Parameters
    ----------
    source : ``"du2014"`` -- :data:`fercourse.facs.RELATIONS`, Du, Tao & Martinez's Table 1 as
        FaceBehaviorNet uses it: 1 for an emotion's prototypical AUs, the fraction of subjects who
        showed it for an observational AU, 0 for the rest (neutral: all 0).  ``"synthetic"`` --
        :func:`fercourse.facs.au_probabilities`, the rates by which the course's synthetic faces
        are drawn (the same table with the EMFACS prototypes folded in, and a small background rate
        for every AU): the table that is *right* for the synthetic faces.
    binary : 1 for every AU the table ties to an emotion and 0 otherwise (for ``"synthetic"``: the
        AUs above the background rate).  The paper's distribution matching defines
        p(AU|emotion) this way; the default keeps the fractions, so that ``W`` reads as a
        probability of seeing the AU.
    emotions, aus : rows and columns (default: FER2013's seven, FaceBehaviorNet's 17).

    Returns
    -------
    (len(emotions), len(aus)) float32 array.
    """
    if source not in RELATION_SOURCES:
        raise ValueError(f"source={source!r} is not a relation table; use one of {', '.join(RELATION_SOURCES)}")
    cols = [facs.AU_INDEX[facs.parse_au(a)[0]] for a in aus]
    rows = []
    for emotion in emotions:
        if emotion not in facs.RELATIONS:
            raise ValueError(f"no relation row for {emotion!r}; valid: {', '.join(facs.RELATIONS)}")
        if source == "synthetic":
            full = facs.au_probabilities(emotion)
            tied = full > facs.AU_BACKGROUND_RATE
        else:
            full = np.zeros(len(facs.AUS))
            rel = facs.RELATIONS[emotion]
            for au, w in {**rel["observational"], **rel["prototypical"]}.items():
                full[facs.AU_INDEX[au]] = w
            tied = full > 0
        rows.append(np.where(tied, 1.0, 0.0)[cols] if binary else full[cols])
    return np.asarray(rows, dtype=np.float32)


def _ops():
    from keras import ops

    return ops


def _expected_aus(p_expression, relation):
    ops = _ops()
    return ops.matmul(p_expression, ops.convert_to_tensor(relation, dtype=p_expression.dtype))


def _expression_posterior(aus, relation, floor):
    ops = _ops()
    w = ops.clip(ops.convert_to_tensor(relation, dtype=aus.dtype), floor, 1.0 - floor)
    # log P(AUs | e), each AU independent given the expression (naive Bayes), then Bayes' rule
    # with equal priors: a softmax over the expressions.
    loglik = ops.matmul(aus, ops.transpose(ops.log(w))) + ops.matmul(1.0 - aus, ops.transpose(ops.log(1.0 - w)))
    return ops.softmax(loglik, axis=-1)


def expected_aus(p_expression, relation) -> np.ndarray:
    """``q(AU|x) = sum_e p(e|x) w(AU|e)``: the AU probabilities an expression distribution implies.

    With a one-hot ``p_expression`` (an expression *label*) this is the co-annotation target, the
    table's row for that expression; with the expression head's probabilities it is the target of
    distribution matching.  ``p_expression`` is (N, E), ``relation`` the (E, A) table of
    :func:`relation_matrix`; returns (N, A).
    """
    import keras

    p = np.asarray(p_expression, dtype=np.float32)
    w = np.asarray(relation, dtype=np.float32)
    if p.ndim != 2 or w.ndim != 2 or p.shape[1] != w.shape[0]:
        raise ValueError(f"p_expression must be (N, {w.shape[0] if w.ndim == 2 else 'E'}) for a relation table of "
                         f"shape {w.shape}; got {p.shape}")
    return keras.ops.convert_to_numpy(_expected_aus(keras.ops.convert_to_tensor(p), w))


def expression_posterior(aus, relation, floor: float = 0.02) -> np.ndarray:
    """Soft expression targets from AU labels: P(expression | AUs) under the table.

    The table is read as a likelihood: each AU is present, given expression e, with probability
    ``W[e, a]`` (clipped into ``[floor, 1 - floor]``: a prototypical AU can be missed, an untied AU
    can show), independently of the others; Bayes' rule with equal priors turns the AUs a face
    shows into a distribution over expressions.  The paper co-annotates an AU-labelled face with
    the emotion whose table AUs are all present; this posterior is the course's soft form of
    that rule (it also gives *neutral* to a face that shows no AU).

    ``aus``: (N, A) presence in 0..1; returns (N, E) rows summing to 1.
    """
    import keras

    a = np.asarray(aus, dtype=np.float32)
    w = np.asarray(relation, dtype=np.float32)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[1]:
        raise ValueError(f"aus must be (N, {w.shape[1] if w.ndim == 2 else 'A'}) for a relation table of "
                         f"shape {w.shape}; got {a.shape}")
    if not 0 < floor < 0.5:
        raise ValueError(f"floor must lie in (0, 0.5); got {floor!r}")
    return keras.ops.convert_to_numpy(_expression_posterior(keras.ops.convert_to_tensor(a), w, floor))


def au_presence(intensities, threshold: float = AU_PRESENT) -> np.ndarray:
    """AU presence labels (0/1 float32) from intensities: present at ``threshold`` or above.

    Takes (N, 17) arrays in the order of :data:`AUS`, or (N, 19) in the order of
    :data:`fercourse.facs.AUS` (the synthetic faces' ``extras["aus"]``), whose blink columns are dropped.
    """
    a = np.asarray(intensities, dtype=np.float32)
    if a.ndim != 2 or a.shape[1] not in (len(AUS), len(facs.AUS)):
        raise ValueError(f"AU intensities must be (N, {len(AUS)}) in the order of multitask.AUS or "
                         f"(N, {len(facs.AUS)}) in the order of facs.AUS; got shape {a.shape}")
    if a.shape[1] == len(facs.AUS):
        a = a[:, [facs.AU_INDEX[au] for au in AUS]]
    return (a >= threshold).astype(np.float32)


# --------------------------------------------------------------------------- losses (Keras ops)
@dataclass(frozen=True)
class Coupling:
    """Which couplings a multi-task network trains with, and their weights (0 switches one off).

    co_annotation : weight of the co-annotated targets (the paper counts them like real labels: 1).
    distribution_matching : weight of the distribution-matching term.
    task_weights : weight of each task's own loss, ``{"expression": 1, "aus": 1, "va": 1}`` by default.
    floor : the likelihood floor of :func:`expression_posterior`.
    """

    co_annotation: float = 0.0
    distribution_matching: float = 0.0
    task_weights: tuple = (("expression", 1.0), ("aus", 1.0), ("va", 1.0))
    floor: float = 0.02

    def __post_init__(self):
        weights = dict(self.task_weights)
        for name, value in [("co_annotation", self.co_annotation),
                            ("distribution_matching", self.distribution_matching), *weights.items()]:
            if not (isinstance(value, (int, float, np.integer, np.floating)) and value >= 0):
                raise ValueError(f"Coupling: the weight {name} must be a number >= 0; got {value!r}")
        unknown = set(weights) - set(TASKS)
        if unknown:
            raise ValueError(f"Coupling: task_weights names {sorted(unknown)}; the tasks are {', '.join(TASKS)}")
        object.__setattr__(self, "task_weights", tuple((t, float(weights.get(t, 1.0))) for t in TASKS))

    def to_dict(self) -> dict:
        return {**asdict(self), "task_weights": dict(self.task_weights)}

    @classmethod
    def from_dict(cls, d) -> "Coupling":
        d = dict(d or {})
        if "task_weights" in d:
            d["task_weights"] = tuple(dict(d["task_weights"]).items())
        return cls(**d)


def masked_mean(values, weights):
    """``sum(w * v) / sum(w)``, and 0 when every weight is 0 (no label in the batch: no loss)."""
    ops = _ops()
    weights = ops.cast(weights, values.dtype)
    total = ops.sum(weights)
    return ops.where(total > 0, ops.sum(weights * values) / ops.maximum(total, _EPS), ops.zeros_like(total))


def _weights(sample_weight, task, like):
    ops = _ops()
    if sample_weight is None or (isinstance(sample_weight, dict) and sample_weight.get(task) is None):
        return ops.ones((ops.shape(like)[0],), dtype=like.dtype)
    w = sample_weight[task] if isinstance(sample_weight, dict) else sample_weight
    return ops.reshape(ops.cast(w, like.dtype), (-1,))


def _expression_targets(y, num_classes, dtype):
    ops = _ops()
    y = ops.convert_to_tensor(y)
    if len(y.shape) == 2 and y.shape[-1] == num_classes:
        return ops.cast(y, dtype)
    return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), num_classes, dtype=dtype)


def expression_loss(y_true, p_expression, weights=None):
    """Cross-entropy of the expression head, a weighted mean over the labelled faces.

    ``y_true``: integer labels (N,) or probability targets (N, E); ``weights`` (N,), 0 = missing.
    """
    import keras

    ops = _ops()
    target = _expression_targets(y_true, p_expression.shape[-1], p_expression.dtype)
    per_face = keras.losses.categorical_crossentropy(target, p_expression)
    return masked_mean(per_face, ops.ones_like(per_face) if weights is None else weights)


def au_loss(y_true, p_aus, weights=None):
    """Binary cross-entropy per AU, averaged over the AUs, then a weighted mean over the faces."""
    import keras

    ops = _ops()
    per_face = keras.losses.binary_crossentropy(ops.cast(y_true, p_aus.dtype), p_aus)
    return masked_mean(per_face, ops.ones_like(per_face) if weights is None else weights)


def concordance(y_true, y_pred, weights=None):
    """Lin's concordance correlation coefficient of each column, over the faces with weight > 0.

    ``CCC = 2 cov(x, y) / (var x + var y + (mean x - mean y)^2)`` with weighted (population)
    moments; 1 only when the prediction equals the truth, lower for a shift or a change of scale
    that plain correlation would forgive.  (N, K) in, (K,) out; 0 where no face is labelled.
    """
    ops = _ops()
    y_true = ops.cast(y_true, y_pred.dtype)
    w = ops.ones((ops.shape(y_pred)[0],), y_pred.dtype) if weights is None else ops.cast(weights, y_pred.dtype)
    w = ops.expand_dims(w, -1)
    n = ops.maximum(ops.sum(w), _EPS)
    mx, my = ops.sum(w * y_true, axis=0) / n, ops.sum(w * y_pred, axis=0) / n
    dx, dy = y_true - mx, y_pred - my
    vx, vy = ops.sum(w * dx * dx, axis=0) / n, ops.sum(w * dy * dy, axis=0) / n
    cov = ops.sum(w * dx * dy, axis=0) / n
    return 2.0 * cov / (vx + vy + (mx - my) ** 2 + _EPS)


def va_loss(y_true, va_pred, weights=None):
    """``1 - CCC``, averaged over valence and arousal, on the labelled faces of the batch (0 if none)."""
    ops = _ops()
    w = ops.ones((ops.shape(va_pred)[0],), va_pred.dtype) if weights is None else ops.cast(weights, va_pred.dtype)
    loss = 1.0 - ops.mean(concordance(y_true, va_pred, w))
    return ops.where(ops.sum(w) > 0, loss, ops.zeros_like(loss))


def co_annotation_losses(y_true, y_pred, sample_weight, relation, floor=0.02):
    """The two co-annotation terms: ``(AU term, expression term)``.

    - faces with an expression label and no AU label: the AU head against the table's row for the
      expression (binary cross-entropy, as for real AU labels);
    - faces with AU labels and no expression label: the expression head against
      :func:`expression_posterior` of their AUs (cross-entropy).

    A face that carries both labels, or neither, is not co-annotated.
    """
    ops = _ops()
    p_e, p_au = y_pred["expression"], y_pred["aus"]
    w_e = _weights(sample_weight, "expression", p_e)
    w_au = _weights(sample_weight, "aus", p_au)
    has_e, has_au = ops.cast(w_e > 0, p_e.dtype), ops.cast(w_au > 0, p_e.dtype)
    zero = ops.zeros((), p_e.dtype)
    au_term = expr_term = zero
    if "expression" in y_true:
        target = _expected_aus(_expression_targets(y_true["expression"], p_e.shape[-1], p_e.dtype), relation)
        au_term = au_loss(target, p_au, w_e * (1.0 - has_au))
    if "aus" in y_true:
        target = _expression_posterior(ops.cast(y_true["aus"], p_au.dtype), relation, floor)
        expr_term = expression_loss(target, p_e, w_au * (1.0 - has_e))
    return au_term, expr_term


def distribution_matching_loss(p_expression, p_aus, relation):
    """Match the AU head with the AU distribution the expression head implies, on every face.

    ``q = expected_aus(p_expression)``; the loss is the binary cross-entropy of the AU head's
    probabilities ``p`` against ``q``, averaged over AUs and faces.  Gradients flow into both heads,
    so expressions teach AUs and AUs teach expressions, with no label needed.  The paper writes
    the term ``-p log q`` summed over AUs; we keep the whole Bernoulli cross-entropy
    ``-(q log p + (1 - q) log(1 - p))``: it is smallest, for the AU head, exactly at ``p = q``,
    where the one-sided term alone is lowest with every AU switched off.
    """
    import keras

    q = _ops().clip(_expected_aus(p_expression, relation), 0.0, 1.0)
    return _ops().mean(keras.losses.binary_crossentropy(q, p_aus))


def multitask_loss(y_true, y_pred, sample_weight=None, *, relation, coupling: Coupling = Coupling()):
    """All of FaceBehaviorNet's loss terms for one batch: a dict of scalars with the sum in ``"total"``.

    ``y_true``, ``y_pred`` and ``sample_weight`` are dicts keyed by :data:`TASKS` (a task missing
    from ``y_true`` counts as unlabelled on every face; one missing from ``sample_weight`` as
    labelled on every face).  Terms: ``expression``, ``aus``, ``va`` (those the network has),
    ``co_annotation`` and ``distribution_matching`` (when switched on and both heads exist).
    """
    ops = _ops()
    weights = dict(coupling.task_weights)
    losses = {"expression": expression_loss, "aus": au_loss, "va": va_loss}
    terms = {}
    for task in TASKS:
        if task in y_pred and task in y_true:
            terms[task] = losses[task](y_true[task], y_pred[task], _weights(sample_weight, task, y_pred[task]))
        elif task in y_pred:
            terms[task] = ops.zeros((), y_pred[task].dtype)
    both = "expression" in y_pred and "aus" in y_pred
    if both and coupling.co_annotation > 0:
        au_term, expr_term = co_annotation_losses(y_true, y_pred, sample_weight, relation, coupling.floor)
        terms["co_annotation"] = au_term + expr_term
    if both and coupling.distribution_matching > 0:
        terms["distribution_matching"] = distribution_matching_loss(y_pred["expression"], y_pred["aus"], relation)
    total = sum(weights[t] * terms[t] for t in TASKS if t in terms)
    total = total + coupling.co_annotation * terms.get("co_annotation", 0.0)
    total = total + coupling.distribution_matching * terms.get("distribution_matching", 0.0)
    terms["total"] = total
    return terms


# --------------------------------------------------------------------------- metrics (NumPy)
def ccc(y_true, y_pred) -> float:
    """Lin's concordance correlation coefficient of two 1-D arrays (population moments), in NumPy."""
    x = np.asarray(y_true, dtype=np.float64).ravel()
    y = np.asarray(y_pred, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"ccc needs two non-empty arrays of the same length; got {x.size} and {y.size} values")
    denominator = x.var() + y.var() + (x.mean() - y.mean()) ** 2
    return float(2 * np.mean((x - x.mean()) * (y - y.mean())) / denominator) if denominator > 0 else 0.0


def au_f1(y_true, p_aus, threshold: float = 0.5) -> np.ndarray:
    """F1 of each AU (scikit-learn), predicting "present" where the probability is >= ``threshold``.

    An AU neither present nor predicted in any face scores 0 (scikit-learn's ``zero_division=0``).
    """
    from sklearn.metrics import f1_score

    y = np.asarray(y_true) >= 0.5
    p = np.asarray(p_aus, dtype=float)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"y_true and p_aus must be two (N, A) arrays of the same shape; got {y.shape} and {p.shape}")
    return f1_score(y, p >= threshold, average=None, zero_division=0).astype(float)


def scores(y_true: dict, y_pred: dict, sample_weight: dict | None = None) -> dict:
    """Every task's figures, on the faces that carry its label.

    Returns a dict with, where the task's labels and outputs exist: ``expression_accuracy``,
    ``expression_macro_f1``; ``au_f1`` (a dict AU -> F1) and ``au_mean_f1``; ``ccc_valence``,
    ``ccc_arousal`` and ``ccc_mean``; and ``abaw``, the sum of expression macro-F1, mean AU F1 and
    mean CCC (the multi-task score of the ABAW challenges) when all three are there.
    """
    from . import evaluate

    out = {}

    def known(task, n):
        if sample_weight is None or sample_weight.get(task) is None:
            return np.ones(n, bool)
        return np.asarray(sample_weight[task]).reshape(-1) > 0

    if "expression" in y_true and "expression" in y_pred:
        keep = known("expression", len(y_pred["expression"]))
        if keep.any():
            y = np.asarray(y_true["expression"]).reshape(-1)[keep]
            pred = np.asarray(y_pred["expression"])[keep].argmax(axis=1)
            k = np.asarray(y_pred["expression"]).shape[1]
            out["expression_accuracy"] = evaluate.accuracy(y, pred)
            out["expression_macro_f1"] = evaluate.macro_f1(y, pred, k)
    if "aus" in y_true and "aus" in y_pred:
        keep = known("aus", len(y_pred["aus"]))
        if keep.any():
            f1 = au_f1(np.asarray(y_true["aus"])[keep], np.asarray(y_pred["aus"])[keep])
            names = AUS if len(f1) == len(AUS) else range(len(f1))
            out["au_f1"] = dict(zip(names, f1.round(4).tolist()))
            out["au_mean_f1"] = float(f1.mean())
    if "va" in y_true and "va" in y_pred:
        keep = known("va", len(y_pred["va"]))
        if keep.sum() > 1:
            t, p = np.asarray(y_true["va"])[keep], np.asarray(y_pred["va"])[keep]
            out["ccc_valence"], out["ccc_arousal"] = ccc(t[:, 0], p[:, 0]), ccc(t[:, 1], p[:, 1])
            out["ccc_mean"] = (out["ccc_valence"] + out["ccc_arousal"]) / 2
    if all(k in out for k in ("expression_macro_f1", "au_mean_f1", "ccc_mean")):
        out["abaw"] = out["expression_macro_f1"] + out["au_mean_f1"] + out["ccc_mean"]
    return out


def predict_outputs(model, x, batch_size: int = 512) -> dict:
    """The network's outputs as a dict of NumPy arrays ``{task: (N, ...)}``, batch by batch."""
    from .evaluate import predict

    x = np.asarray(x)
    if len(x) == 0:
        raise ValueError("predict_outputs: no inputs (x is empty)")
    out = predict(model, x, batch_size)
    if not isinstance(out, dict):
        raise TypeError(f"{model.name} returns {type(out).__name__}; predict_outputs needs a model with "
                        "named outputs (a dict), as fercourse.models.face_behavior_net builds")
    return out

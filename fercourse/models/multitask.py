"""FaceBehaviorNet at course scale: one shared trunk, three heads, one loss.

:func:`face_behavior_net` builds the network of Kollias et al. :cite:`kollias2021facebehaviornet`
on any trunk: the course's compact CNN (the default), a given ``keras.Model`` (a trained
network's convolutional part, :func:`trunk_of`), or none at all when the inputs are already
features (``input_shape=(d,)``: features computed once by a frozen trunk, which is what lets a
laptop train a dozen variants in a minute).  The heads are named after the tasks,
:data:`fercourse.multitask.TASKS`:

- ``"expression"``: softmax over the 7 basic expressions (:data:`fercourse.labels.EMOTIONS`);
- ``"aus"``: 17 sigmoids, one per AU of :data:`fercourse.multitask.AUS`;
- ``"va"``: 2 tanh units, valence and arousal in -1..1.

The model is a :class:`FaceBehaviorNet`, a functional ``keras.Model`` whose
:meth:`~FaceBehaviorNet.compute_loss` is :func:`fercourse.multitask.multitask_loss`: it reads the
labels as a dict ``{task: array}`` and the per-task sample weights as the label masks, and
couples the heads (co-annotation, distribution matching) as its :class:`~fercourse.multitask.Coupling`
says.  So it trains through :func:`fercourse.train.fit` like every other model of the course,
on TensorFlow or JAX.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from .. import multitask as mt
from .blocks import check_shape
from .cnns import compact

__all__ = ["FaceBehaviorNet", "face_behavior_net", "trunk_of"]

_HEADS = {"expression": "softmax", "aus": "sigmoid", "va": "tanh"}


@keras.saving.register_keras_serializable(package="fercourse")
class FaceBehaviorNet(keras.Model):
    """A functional model with named outputs and FaceBehaviorNet's loss.

    Built like any functional model, ``FaceBehaviorNet(inputs, {task: tensor}, coupling=...,
    relation=...)``; :func:`face_behavior_net` does it for you.  ``relation`` is the emotion -> AU
    table (:func:`fercourse.multitask.relation_matrix`) the couplings use; ``coupling`` a
    :class:`fercourse.multitask.Coupling` or its dict.  Each loss term is logged under its own
    name (``aus_loss``, ``distribution_matching_loss``...) beside the total ``loss``.
    """

    def __init__(self, *args, coupling=None, relation=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.coupling = coupling if isinstance(coupling, mt.Coupling) else mt.Coupling.from_dict(coupling)
        rel = mt.relation_matrix() if relation is None else np.asarray(relation, dtype="float32")
        outputs = kwargs.get("outputs", args[1] if len(args) > 1 else None)
        if not isinstance(outputs, dict) or not set(outputs) <= set(mt.TASKS):
            raise ValueError(f"FaceBehaviorNet's outputs must be a dict keyed by tasks among {', '.join(mt.TASKS)}")
        want = (outputs["expression"].shape[-1] if "expression" in outputs else rel.shape[0],
                outputs["aus"].shape[-1] if "aus" in outputs else rel.shape[1])
        if rel.ndim != 2 or tuple(rel.shape) != want:
            raise ValueError(f"the relation table must be (expressions, AUs) = {want} for this network; "
                             f"got shape {rel.shape}")
        self.relation = rel
        names = [t for t in mt.TASKS if t in outputs] + ["co_annotation", "distribution_matching"]
        self.term_trackers = [keras.metrics.Mean(name=f"{n}_loss") for n in names]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y, dict):
            raise ValueError(f"{self.name} takes its labels as a dict {{task: array}} with tasks among "
                             f"{', '.join(self.output_names)}; got {type(y).__name__}")
        if sample_weight is not None and not isinstance(sample_weight, dict):
            raise ValueError(f"{self.name} takes sample weights as a dict {{task: (N,) weights}}; "
                             f"got {type(sample_weight).__name__}")
        terms = mt.multitask_loss(y, y_pred, sample_weight, relation=self.relation, coupling=self.coupling)
        for tracker in self.term_trackers:
            name = tracker.name[: -len("_loss")]
            if name in terms:
                tracker.update_state(terms[name])
        total = terms["total"]
        if self.losses:  # weight regularisers, if a trunk has them
            total = total + keras.ops.sum([keras.ops.sum(loss) for loss in self.losses])
        return total

    def get_config(self):
        config = super().get_config()
        config.update(coupling=self.coupling.to_dict(), relation=self.relation.tolist())
        return config


def trunk_of(model, layer: str = "gap") -> keras.Model:
    """The part of ``model`` up to ``layer`` (default the global pooling of the course's CNNs).

    ``trunk_of(course_model)`` is the course model's feature extractor: 256 numbers per face.
    The trunk shares its weights with ``model``; set ``trunk.trainable = False`` to freeze it.
    """
    try:
        out = model.get_layer(layer).output
    except ValueError:
        names = ", ".join(l.name for l in model.layers)
        raise ValueError(f"{model.name} has no layer {layer!r}; its layers: {names}") from None
    return keras.Model(model.inputs, out, name=f"{model.name}_trunk")


def face_behavior_net(input_shape=(48, 48, 1), num_expressions=7, num_aus=17, *, trunk=None, tasks=mt.TASKS,
                      shared_units=128, dropout=0.3, co_annotation=0.0, distribution_matching=0.0,
                      relation="du2014", task_weights=None, learning_rate=1e-3, weight_decay=1e-4,
                      compile=True, name="face_behavior_net") -> FaceBehaviorNet:
    """FaceBehaviorNet: a shared trunk, a shared dense layer, and one head per task.

    Parameters
    ----------
    input_shape : images ``(H, W, C)`` (pixels 0..255, as every model of the course) for the
        default trunk, or ``(d,)`` for inputs that are already features (no trunk: the network is
        the shared layer and the heads).  Ignored when ``trunk`` is given.
    num_expressions, num_aus : sizes of the expression and AU heads (7 and 17 as in the paper).
    trunk : None (the course's compact CNN up to its global pooling, :func:`fercourse.models.compact`,
        trained with the heads), or a ``keras.Model`` from images to features (e.g.
        :func:`trunk_of` a trained network, frozen or not as you set ``trunk.trainable``).
    tasks : the heads to build: all three for the multi-task network, one for a single-task one.
    shared_units, dropout : the dense layer all heads read (0 units: the heads read the trunk).
    co_annotation, distribution_matching : weights of the two couplings (0: off); see
        :mod:`fercourse.multitask`.
    relation : the emotion -> AU table: a source name for :func:`fercourse.multitask.relation_matrix`
        (``"du2014"``, ``"synthetic"``) or a ``(num_expressions, num_aus)`` array.
    task_weights : ``{task: weight}`` of the tasks' own losses (default 1 each).
    learning_rate, weight_decay : AdamW's; :func:`fercourse.train.fit` adds warm-up and cosine decay.
    compile : compile with AdamW (the loss is the model's own, :meth:`FaceBehaviorNet.compute_loss`).
    """
    tasks = tuple(tasks)
    if not tasks or any(t not in mt.TASKS for t in tasks) or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must be distinct names among {', '.join(mt.TASKS)}; got {tasks!r}")
    sizes = {"expression": int(num_expressions), "aus": int(num_aus), "va": 2}
    if sizes["expression"] < 2 or sizes["aus"] < 1:
        raise ValueError(f"num_expressions must be >= 2 and num_aus >= 1; got {num_expressions}, {num_aus}")
    if isinstance(relation, str):
        if (sizes["expression"], sizes["aus"]) != (7, len(mt.AUS)):
            raise ValueError(f"relation={relation!r} is a table of 7 expressions x {len(mt.AUS)} AUs; for "
                             f"{num_expressions} x {num_aus} heads pass the table itself as an array")
        relation = mt.relation_matrix(relation)

    if trunk is not None:
        if not isinstance(trunk, keras.Model):
            raise TypeError(f"trunk must be a keras.Model from images to features; got {type(trunk).__name__}")
        inputs = trunk.inputs
        features = trunk.outputs[0]
        if len(features.shape) == 4:
            features = layers.GlobalAveragePooling2D(name="trunk_pool")(features)
        elif len(features.shape) != 2:
            raise ValueError(f"trunk {trunk.name} outputs shape {features.shape}; a feature vector (N, d) "
                             "or feature maps (N, H, W, C) were expected")
    elif len(tuple(input_shape)) == 1:
        inputs = keras.Input(shape=tuple(input_shape), name="features")
        features = inputs
    else:
        shape = check_shape(input_shape, num_expressions, 16, "face_behavior_net")
        base = compact(shape, num_classes=num_expressions, compile=False)
        inputs, features = base.inputs, base.get_layer("gap").output

    x = features
    if shared_units:
        x = layers.Dense(int(shared_units), activation="relu", name="shared")(x)
    if dropout:
        x = layers.Dropout(float(dropout), name="shared_drop")(x)
    outputs = {t: layers.Dense(sizes[t], activation=_HEADS[t], name=t)(x) for t in tasks}
    coupling = mt.Coupling(co_annotation=co_annotation, distribution_matching=distribution_matching,
                           task_weights=tuple((task_weights or {}).items()))
    inputs = inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs
    model = FaceBehaviorNet(inputs, outputs, coupling=coupling, relation=relation, name=name)
    if compile:
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay))
    return model

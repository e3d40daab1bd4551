"""Gradients of a network's output with respect to its input, on any Keras backend.

Keras 3 has no backend-neutral ``gradient`` op, so this module holds the one place where
the course asks a backend for a gradient (:func:`input_gradients`); every saliency map,
Grad-CAM and DeepDream step goes through it.  TensorFlow (the course's default, CPU) records
the forward pass on a ``GradientTape``; JAX (the GPU machines) differentiates the function
with ``jax.grad``.

:func:`class_score_function` gives the class scores *before* the softmax, as Simonyan et al.
and Selvaraju et al. differentiate them: the softmax couples the classes, so the gradient of
a probability also says how the *other* classes' scores move.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np

from .checks import get_layer

__all__ = ["input_gradients", "class_score_function"]


def _selected(outputs, weights):
    """Each row's weighted sum of ``outputs`` (N, K), or its largest output when ``weights`` is None.

    The gradient of the maximum is the gradient of the winning output, so None explains
    each face's predicted class without a separate forward pass to find it.
    """
    if weights is None:
        return keras.ops.max(outputs, axis=-1)
    return keras.ops.sum(outputs * weights, axis=-1)


class _NotRetracingNews:
    """A logging filter that drops TensorFlow's "triggered tf.function retracing" warning.

    Each model, layer and objective gets its own compiled function, once, by design (a
    gradient step here, Keras's predict step for each sub-model); TensorFlow counts every
    closure of one Python function together and would warn that one function keeps
    retracing, in the middle of a chapter's output.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_retracing_warnings():
    """Install :class:`_NotRetracingNews` on TensorFlow's logger (once; harmless elsewhere)."""
    import logging

    log = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NotRetracingNews) for f in log.filters):
        log.addFilter(_NotRetracingNews())


def _tensorflow_step(fn, x_shape, w_shape):
    # The one TensorFlow import of the course: Keras 3 exposes no gradient op, and GradientTape
    # is how TensorFlow computes one.  Imported here, lazily, so that the rest of the package
    # keeps to the Keras API and runs where TensorFlow is absent.
    import tensorflow as tf

    quiet_retracing_warnings()

    def step(x, weights=None):
        with tf.GradientTape() as tape:
            tape.watch(x)
            values = _selected(fn(x), weights)
            total = tf.reduce_sum(values)
        return values, tape.gradient(total, x)

    # Compiled (2-3 times faster than eager on a CPU) for any batch size, so it is traced once;
    # variables are read when the graph runs, so a model that trains on is seen with its
    # current weights.
    signature = [tf.TensorSpec((None, *x_shape), tf.float32)]
    if w_shape is not None:
        signature.append(tf.TensorSpec((None, *w_shape), tf.float32))
    return tf.function(step, input_signature=signature), step


def input_gradients(fn, x, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Selected outputs of ``fn`` at ``x`` and the gradient of their sum with respect to ``x``.

    ``fn`` maps a backend tensor ``(N, ...)`` to outputs ``(N, K)``, each row depending on its
    own input row only (a network in inference mode); the value of row ``i`` is
    ``sum_k weights[i, k] * outputs[i, k]`` (``weights`` ``(N, K)``, e.g. one-hot classes), or
    its largest output when ``weights`` is None.  One backward pass of the sum gives every
    row's gradient.  Returns NumPy arrays ``(N,)`` and ``x.shape``.
    """
    x = np.asarray(x, dtype=np.float32)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    if w is not None and (w.ndim != 2 or len(w) != len(x)):
        raise ValueError(f"weights must be (N, K) with N = {len(x)} rows; got shape {w.shape}")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        # The first call of a function runs eagerly: tracing costs more than one eager pass,
        # and many functions (a model's twin, a guided copy) are used once.  From the second
        # call on, the compiled step runs.
        steps = fn.__dict__.setdefault("_fercourse_gradient_steps", {})
        key = (x.shape[1:], None if w is None else w.shape[1:])
        if key not in steps:
            steps[key] = [0, *_tensorflow_step(fn, *key)]
        entry = steps[key]
        entry[0] += 1
        step = entry[1] if entry[0] > 1 else entry[2]
        args = [keras.ops.convert_to_tensor(x)] + ([] if w is None else [keras.ops.convert_to_tensor(w)])
        values, grads = step(*args)
        return keras.ops.convert_to_numpy(values), keras.ops.convert_to_numpy(grads)
    if backend == "jax":
        import jax

        # Not jitted: a jitted Keras call would bake the weights in as constants, and a model
        # that trains on would then be explained with its old weights.
        def total(xj):
            values = _selected(fn(xj), None if w is None else jax.numpy.asarray(w))
            return keras.ops.sum(values), values

        (_, values), grads = jax.value_and_grad(total, has_aux=True)(jax.numpy.asarray(x))
        return np.asarray(values), np.asarray(grads)
    raise NotImplementedError(f"fercourse.explain computes gradients on the tensorflow and jax backends; "
                              f"this Keras runs on {backend!r} (set KERAS_BACKEND)")


def _final_scores(last):
    """How to turn the last layer's input into class scores before any softmax (None: no softmax)."""
    name = getattr(getattr(last, "activation", None), "__name__", "")
    if type(last).__name__ == "Dense" and name == "softmax":
        return lambda h: keras.ops.matmul(h, last.kernel) + (last.bias if last.use_bias else 0.0)
    if type(last).__name__ == "Softmax" or (type(last).__name__ == "Activation" and name == "softmax"):
        return lambda h: h
    return None


_SCORERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def class_score_function(model, start=None):
    """A function of a backend tensor giving the model's class scores before the softmax, ``(N, K)``.

    ``start``: None to start from the model's input, or a layer name to start from that
    layer's output (Grad-CAM differentiates from a convolutional layer's feature maps).
    The function shares the model's layers and weights (nothing is copied), so it follows
    the model as it trains; it is made once per model and start.  A model whose last layer
    is not a softmax is scored on its outputs.
    """
    cache = _SCORERS.setdefault(model, {})
    if start in cache:
        return cache[start]
    begin = model.inputs[0] if start is None else get_layer(model, start).output
    last = model.layers[-1]
    finish = _final_scores(last)
    body = keras.Model(begin, last.input if finish is not None else model.outputs[0],
                       name=f"{model.name}_scores")
    if finish is None:
        def scores(x):
            return body(x, training=False)
    else:
        def scores(x):
            return finish(body(x, training=False))
    cache[start] = scores
    return scores

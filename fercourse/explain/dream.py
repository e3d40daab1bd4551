"""Images a network would like to see: DeepDream and class-maximising images.

Both climb the gradient of an objective with respect to the input image
(:func:`fercourse.explain.gradients.input_gradients`), with the three tricks of DeepDream
(Mordvintsev, Olah & Tyka 2015) that keep the picture from turning into high-frequency noise:

- **jitter**: before each step the image is shifted by a few random pixels (and shifted back),
  so the network cannot exploit a pattern tied to exact pixel positions;
- **blur**: after each step a light Gaussian blur removes what no pixel neighbourhood supports;
- **octaves**: the image is first optimised coarse and then finer.  The course's networks take
  a fixed 48x48 input, so a coarse octave keeps the image at a lower resolution, feeds it
  upsampled, and takes the gradient back downsampled (area): the coarse octaves can only
  draw large shapes, the last one adds detail.  What each octave adds is carried to the next
  on top of the start image at that resolution, as DeepDream does.

:func:`deep_dream` starts from faces and amplifies what a layer (or one unit) already sees in
them; :func:`class_images` starts from grey noise and raises one class's score (before the
softmax) per image.  Both return float32 images ``(N, H, W)`` with pixel values 0..255.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np

from .checks import as_faces, class_indices, get_layer
from .gradients import class_score_function, input_gradients

__all__ = ["deep_dream", "class_images"]


def _check_schedule(steps, octaves, octave_scale, step_size, jitter, blur):
    if int(steps) != steps or steps < 1 or int(octaves) != octaves or octaves < 1:
        raise ValueError(f"steps and octaves must be positive integers; got steps={steps!r}, "
                         f"octaves={octaves!r}")
    if octave_scale < 1 or step_size <= 0 or jitter < 0 or blur < 0:
        raise ValueError("octave_scale must be >= 1, step_size > 0, jitter and blur >= 0; got "
                         f"octave_scale={octave_scale!r}, step_size={step_size!r}, jitter={jitter!r}, "
                         f"blur={blur!r}")


def _resize(images, side):
    h, w = side
    if images.shape[1:3] == (h, w):
        return images
    inter = cv2.INTER_AREA if images.shape[1] > h else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (w, h), interpolation=inter) for im in images])


def _ascend(objective, start, *, weights=None, steps, octaves, octave_scale, step_size, jitter, blur, seed):
    """Gradient ascent of ``objective``'s selected output (see :func:`input_gradients`) per image."""
    rng = np.random.default_rng(seed)
    H, W = start.shape[1:3]
    sizes = [(max(4, round(H / octave_scale ** k)), max(4, round(W / octave_scale ** k)))
             for k in reversed(range(int(octaves)))]
    start = start.astype(np.float32)
    detail = np.zeros((len(start), *sizes[0]), np.float32)
    for size in sizes:
        # as in DeepDream: the start image at this octave's resolution, plus the detail the
        # coarser octaves added (upsampled), so the start's own fine detail is never lost
        base = _resize(start, size)
        image = base + _resize(detail, size)
        for _ in range(int(steps)):
            full = _resize(image, (H, W))
            dy, dx = (rng.integers(-jitter, jitter + 1, 2) if jitter else (0, 0))
            shifted = np.roll(full, (dy, dx), axis=(1, 2))
            _, grad = input_gradients(objective, shifted[..., None], weights)
            grad = np.roll(grad[..., 0], (-dy, -dx), axis=(1, 2))
            grad = _resize(grad, size)
            # normalised steps: each moves the pixels by about step_size grey levels on average
            grad /= np.abs(grad).mean(axis=(1, 2), keepdims=True) + 1e-8
            image = np.clip(image + step_size * grad, 0, 255)
            if blur:
                image = np.stack([cv2.GaussianBlur(im, (0, 0), blur) for im in image])
        detail = image - base
    return _resize(image, (H, W)).astype(np.float32)


def deep_dream(model, faces, layer, *, unit=None, steps=20, octaves=3, octave_scale=1.4, step_size=1.5,
               jitter=2, blur=0.5, seed=0) -> np.ndarray:
    """DeepDream: change each face to excite ``layer`` more, ``(N, H, W)`` float32 in 0..255.

    The objective is the mean square of the layer's activations (Mordvintsev et al.'s), or,
    with ``unit`` (a channel index), the mean of that one channel.
    """
    x = as_faces(model, faces)
    target = get_layer(model, layer)
    channels = target.output.shape[-1]
    if unit is not None and not (int(unit) == unit and 0 <= unit < channels):
        raise ValueError(f"unit must be a channel of {layer!r}, 0..{channels - 1}; got {unit!r}")
    _check_schedule(steps, octaves, octave_scale, step_size, jitter, blur)
    sub = keras.Model(model.inputs[0], target.output)
    axes = tuple(range(1, len(target.output.shape)))

    def objective(images):
        a = sub(images, training=False)
        if unit is None:
            return keras.ops.mean(keras.ops.square(a), axis=axes)[:, None]
        return keras.ops.mean(a[..., int(unit)], axis=axes[:-1])[:, None]

    return _ascend(objective, x[..., 0], steps=steps, octaves=octaves, octave_scale=octave_scale,
                   step_size=step_size, jitter=jitter, blur=blur, seed=seed)


def class_images(model, classes=None, *, start=None, steps=30, octaves=3, octave_scale=1.4, step_size=1.5,
                 jitter=2, blur=0.5, seed=0) -> np.ndarray:
    """Images that raise one class's score each, ``(len(classes), H, W)`` float32 in 0..255.

    ``classes``: class indices (default: every class, in order).  ``start``: uint8 faces to
    start from (one per class), else grey noise (mean 128, standard deviation 8, seeded).
    """
    k = int(model.output_shape[-1])
    classes = np.arange(k) if classes is None else np.atleast_1d(classes)
    idx = class_indices(model, classes, len(classes))
    _check_schedule(steps, octaves, octave_scale, step_size, jitter, blur)
    if start is None:
        h, w = model.input_shape[1:3]
        noise = np.random.default_rng(seed).normal(128, 8, (len(idx), h, w))
        x = np.clip(noise, 0, 255).astype(np.float32)
    else:
        x = as_faces(model, start, "start")[..., 0]
        if len(x) != len(idx):
            raise ValueError(f"start holds {len(x)} faces for {len(idx)} classes; give one per class")
    onehot = np.eye(k, dtype=np.float32)[idx]
    return _ascend(class_score_function(model), x, weights=onehot, steps=steps, octaves=octaves,
                   octave_scale=octave_scale, step_size=step_size, jitter=jitter, blur=blur, seed=seed)

"""The pictures of the field: image grids, training curves, confusion matrices..."""

from __future__ import annotations

import numpy as np


def image_grid(images, titles=None, ncols=8, size=1.2, cmap="gray", axes_off=True, suptitle=None):
    """Draw images (N, H, W) or (N, H, W, C) in a grid; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * (1.25 if titles is not None else 1)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.ravel()[i]
        ax.imshow(img, cmap=cmap, vmin=0, vmax=255 if img.dtype == np.uint8 else None)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
        if not axes_off:
            ax.axis("on")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig

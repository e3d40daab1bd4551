"""What a network sees: explanations of a Keras expression network.

Every public function takes a ``keras.Model`` (images in, class probabilities out, as
:mod:`fercourse.models` builds them) and uint8 faces ``(N, H, W)`` or ``(N, H, W, 1)``, and
returns NumPy arrays.  One idea per module:

:mod:`~fercourse.explain.layers`
    first-layer filters, activation maps of any layer, how sparse the ReLU layers fire;
:mod:`~fercourse.explain.maps`
    saliency, SmoothGrad, guided backpropagation, Grad-CAM, occlusion;
:mod:`~fercourse.explain.dream`
    DeepDream and class-maximising images;
:mod:`~fercourse.explain.sanity`
    the model-randomisation sanity check of the maps, and the untrained twin;
:mod:`~fercourse.explain.gradients`
    the one place that asks the backend (TensorFlow or JAX) for a gradient.

Whether single units line up with facial action units is measured in :mod:`fercourse.au_units`.
"""

from .checks import default_cam_layer, layer_names, spatial_layer_names
from .dream import class_images, deep_dream
from .layers import activation_maps, first_conv_layer, first_layer_filters, relu_layer_names, sparsity
from .maps import grad_cam, guided_backprop, occlusion, predicted_classes, saliency, smoothgrad
from .sanity import METHODS, randomisation_check, rank_correlation, untrained_twin

__all__ = [
    "first_layer_filters", "first_conv_layer", "activation_maps", "sparsity", "relu_layer_names",
    "saliency", "smoothgrad", "guided_backprop", "grad_cam", "occlusion", "predicted_classes",
    "deep_dream", "class_images", "randomisation_check", "rank_correlation", "untrained_twin", "METHODS",
    "layer_names", "spatial_layer_names", "default_cam_layer",
]

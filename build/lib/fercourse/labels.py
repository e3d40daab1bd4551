"""Expression classes: the one definition of their names and order.

FER2013 numbers its classes 0..6 in the order below; every dataset reader, model head
and plot in the course uses this order.  Contempt is not in FER2013 but is one of the
EMFACS prototypes (and in CK+), so it is appended as class 7 where a dataset has it.
"""

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013's seven classes, in FER2013's order (label ``i`` is ``EMOTIONS[i]``)."""

CONTEMPT = "contempt"
EMOTIONS_WITH_CONTEMPT = EMOTIONS + (CONTEMPT,)

EMOTIONS_MERGED = ("angry", "fear", "happy", "sad", "surprise", "neutral")
"""mememoji's six classes: disgust (547 FER2013 images) folded into angry."""

SPLITS = ("Training", "PublicTest", "PrivateTest")
"""FER2013's split names: train on Training, select on PublicTest, report PrivateTest."""


def merge_disgust(labels):
    """Map 7-class labels to mememoji's 6 classes (disgust -> angry).

    Returns a new integer array indexing :data:`EMOTIONS_MERGED`.
    """
    import numpy as np

    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(EMOTIONS)):
        raise ValueError(
            f"labels must lie in 0..{len(EMOTIONS) - 1} (the 7 FER2013 classes); "
            f"got values from {labels.min()} to {labels.max()}"
        )
    lookup = np.array([EMOTIONS_MERGED.index("angry" if e == "disgust" else e) for e in EMOTIONS])
    return lookup[labels]

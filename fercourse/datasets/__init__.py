"""Datasets as plain NumPy arrays, in the manner of ``sklearn.datasets``.

- ``load_*`` read a dataset that is already in the data home (or at a given path);
- ``fetch_*`` put a downloaded file in place and verify it;
- ``make_*`` generate the built-in synthetic FACS faces, deterministic by seed;
- :func:`load_course_data` is what chapters call: the real data when present, else synthetic.
"""

from .facedata import FaceData
from .errors import DataFormatError, DataMissingError
from .fer2013 import fer2013_path, fetch_fer2013, load_fer2013
from .folders import load_image_folder, subject_kfold
from .ckplus import ckplus_path, fetch_ckplus, load_ckplus, without_contempt
from .posed import make_posed_faces
from .sequences import SequenceData
from .choice import load_course_data, available


def __getattr__(name):
    # The synthetic faces need the renderer (OpenCV); import it only when asked for.
    if name in ("make_faces", "make_sequences"):
        from . import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FaceData", "DataFormatError", "DataMissingError",
    "load_fer2013", "fetch_fer2013", "fer2013_path",
    "load_image_folder", "subject_kfold",
    "load_ckplus", "fetch_ckplus", "ckplus_path", "without_contempt", "make_posed_faces",
    "SequenceData",
    "make_faces", "make_sequences",
    "load_course_data", "available",
]

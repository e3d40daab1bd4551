"""The errors dataset readers raise, so callers can tell "absent" from "broken"."""


class DataMissingError(FileNotFoundError):
    """The dataset is not in the data home; the message says what to download and where."""


class DataFormatError(ValueError):
    """A dataset file is present but broken; the message names the file and the row or entry."""

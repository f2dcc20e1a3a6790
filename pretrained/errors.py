"""The pretrained package's exception types; messages name the file, tensor or step at fault."""


class PretrainedError(Exception):
    """Base class: the CLI prints these as one line instead of a traceback."""


class ConversionError(PretrainedError):
    """A Hugging Face checkpoint that cannot become a bert/modeling.py checkpoint."""


class FetchError(PretrainedError):
    """Downloading, verifying or unpacking the pinned pretrained package failed."""


class ExportError(PretrainedError):
    """A model of this pipeline that cannot become a Hugging Face model (or whose files disagree)."""

"""The tagging package's one exception type."""


class TaggingError(ValueError):
    """A bad tag, tag sequence or data file; the message names the file and line when there is one.

    `index` is the offending tag's position in its sentence (0 when unknown),
    so a reader can turn it into a file line.
    """

    def __init__(self, message: str, index: int = 0):
        super().__init__(message)
        self.index = index

"""The featurizer's one exception type."""


class FeaturizerError(ValueError):
    """Bad vocab, settings or text; the message names the file or setting at fault."""

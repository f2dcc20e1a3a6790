"""What every decoder's results share: the place of a row whose batch failed."""

from typing import NamedTuple, Optional

from serving_client._errors import ServingClientError


class FailedPrediction(NamedTuple):
    """A row whose batch failed, in its place under `on_error="collect"`.

    `index` is the row's 0-based position in the input; all rows of one failed
    batch share the same `error` object (the batch's last error, after retries).
    """

    index: int
    error: ServingClientError
    text: str
    text_b: Optional[str] = None

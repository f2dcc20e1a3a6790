"""`bert-classify` / `python -m serving_client`: classify texts, or tag their entities, with a served BERT model.

The model's metadata says which, and its decoder (`serving_client.decoders`)
writes the rows: a sequence classifier answers with a label per text, a
multi-label classifier with a set of labels per text (`--threshold`), a token
classifier (NER) with entity spans of each text (`--aggregation`, `--doc-stride`).

Errors are one line on stderr and a non-zero exit: 1 for serving and input
errors, 2 for bad arguments. In a --file run a failed batch does not stop the
others: its rows are reported (one stderr line per batch naming the file
lines, an error record or ERROR row in the output) and the exit status is 1.
"""

import argparse
import collections
import logging
import os
import sys
from typing import Any, Callable, Deque, Iterator, List, Optional, Tuple

from serving_client._client import DEFAULT_SIGNATURE, ServingClient
from serving_client._entities import AGGREGATIONS, DEFAULT_AGGREGATION
from serving_client._errors import InputError, ServingClientError
from serving_client._inputs import FORMATS, count_examples, read_numbered_examples
from serving_client._output import OUTPUT_FORMATS, make_writer
from serving_client._retry import Retry

PROG = "bert-classify"
DEFAULT_SERVER = "http://localhost:8501"
EXAMPLES = """examples:
  %(prog)s --model sms_spam "Win a free prize now"
  %(prog)s --model qnli "Who wrote it?" "It was written by Ann."
  %(prog)s --server grpc://localhost:8500 --model sms_spam --file texts.tsv --format jsonl
  %(prog)s --model ner "Ada Lovelace moved to London"     # entities of an NER model
  %(prog)s --model old_export --vocab vocab.txt "..."     # an export that carries no vocab

"""
# Kept apart from EXAMPLES, whose %(prog)s argparse fills in.
FAILURES = """failures:
  connection errors and HTTP 503 are resent up to --retries times with exponential backoff
  (%s s, ... at most %g s); read timeouts (--timeout) are not resent.
  A failure before any prediction (server down, metadata, vocab mismatch) stops the run
  with one line on stderr. With --file, a batch that still fails does not stop the others:
  every other row is written in input order, the failed rows appear in their places
  (an {"error", "line", "text"} record in json/jsonl, an ERROR row in the table), and
  stderr gets one line per failed batch naming its file lines and the server's error.

exit status: 0 ok, 1 serving or input error, or any row failed (one line per
failure on stderr), 2 bad arguments""" % (
    ", ".join("%g" % Retry().backoff(n) for n in range(3)),
    Retry().max_backoff,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Classify texts with a BERT model served by TensorFlow Serving or the local model server.",
        epilog=EXAMPLES + FAILURES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", nargs="?", help="the text to classify")
    parser.add_argument("text_b", nargs="?", help="second text of a sentence pair")
    parser.add_argument("-f", "--file", help="classify every text of this file (- for stdin) instead")

    server = parser.add_argument_group("model")
    server.add_argument("--server", default=os.environ.get("BERT_SERVER", DEFAULT_SERVER),
                        help="http(s)://host:port for REST or grpc://host:port (default: $BERT_SERVER or %(default)s)")
    server.add_argument("-m", "--model", required=True, help="model name on the server")
    server.add_argument("--model-version", type=int, help="model version (default: the latest)")
    server.add_argument("--signature", default=DEFAULT_SIGNATURE, help="signature name (default: %(default)s)")
    server.add_argument("--vocab", help="WordPiece vocab.txt the model was trained with (default: the one the export "
                                        "carries; when given, it must match the model's)")
    case = server.add_mutually_exclusive_group()
    case.add_argument("--uncased", dest="do_lower_case", action="store_const", const=True,
                      help="lowercase texts (default: what the model's metadata says, else lowercase)")
    case.add_argument("--cased", dest="do_lower_case", action="store_const", const=False, help="keep case")
    server.add_argument("--max-seq-length", type=int,
                        help="truncate to this many tokens (default: the model's sequence length)")
    server.add_argument("--labels", type=_labels,
                        help="comma-separated class names, for models exported without a 'metadata' signature")
    server.add_argument("--fast", action="store_true",
                        help="tokenize ASCII text with the Rust 'tokenizers' package (same ids)")

    tagging = parser.add_argument_group("entities (token classification models)")
    tagging.add_argument("--aggregation", choices=AGGREGATIONS, default=DEFAULT_AGGREGATION,
                         help="how a word's tag is read from its WordPieces: the first piece's (as trained), "
                              "their average, or the most confident piece (default: %(default)s)")
    tagging.add_argument("--doc-stride", type=_positive,
                         help="tokens between the starts of the windows of a long text (default: the model's, as trained)")
    multi = parser.add_argument_group("label sets (multi-label classification models)")
    multi.add_argument("--threshold", type=_probability,
                       help="a text gets every label whose probability reaches this (default: the model's thresholds)")

    inputs = parser.add_argument_group("input file")
    inputs.add_argument("--input-format", choices=("auto",) + FORMATS, default="auto",
                        help="default: by suffix (.tsv, .jsonl/.ndjson), else one text per line")
    inputs.add_argument("--text-column", default="text", help="TSV column / JSON field of the text (default: text)")
    inputs.add_argument("--text-b-column", help="TSV column / JSON field of the second text of a pair")

    output = parser.add_argument_group("output and network")
    output.add_argument("-o", "--format", choices=OUTPUT_FORMATS, default="table", help="default: %(default)s")
    output.add_argument("--batch-size", type=_positive, default=32, help="texts per request (default: %(default)s)")
    output.add_argument("--in-flight", type=_positive, default=4, help="requests at once (default: %(default)s)")
    output.add_argument("--timeout", type=float, default=30.0, help="read timeout in seconds (default: %(default)s)")
    output.add_argument("--connect-timeout", type=float, default=3.05, help="default: %(default)s s")
    output.add_argument("--retries", type=int, default=3,
                        help="resends on connection errors and 503, with exponential backoff (default: %(default)s)")
    output.add_argument("--no-progress", action="store_true", help="no progress bar for files")
    output.add_argument("-v", "--verbose", action="store_true", help="log retries and requests")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.file is None) == (args.text is None):
        parser.error("give either TEXT [TEXT_B] or --file")
    if args.file is not None and args.text_b is not None:
        parser.error("TEXT_B cannot be combined with --file (use --text-b-column)")
    if args.retries < 0:
        parser.error("--retries must be >= 0")
    restore_logging = _setup_logging(args.verbose)
    try:
        with _client(args) as client:
            failed = _run(client, args)
        if failed:
            return 1
    except ServingClientError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Output piped into e.g. `head`: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("%s: interrupted" % PROG, file=sys.stderr)
        return 130
    finally:
        restore_logging()
    return 0


def _client(args: argparse.Namespace) -> ServingClient:
    try:
        return ServingClient(
            args.server,
            args.model,
            args.vocab,
            version=args.model_version,
            signature=args.signature,
            do_lower_case=args.do_lower_case,
            max_seq_length=args.max_seq_length,
            labels=args.labels,
            batch_size=args.batch_size,
            max_in_flight=args.in_flight,
            timeout=args.timeout,
            connect_timeout=args.connect_timeout,
            retry=Retry(max_retries=args.retries),
            use_fast=args.fast,
            aggregation=args.aggregation,
            doc_stride=args.doc_stride,
            threshold=args.threshold,
        )
    except ValueError as e:  # e.g. an unsupported URL scheme
        raise SystemExit("%s: error: %s" % (PROG, e))
    except ImportError as e:
        raise SystemExit("%s: error: the gRPC transport needs `pip install 'bert-tf1-pipeline[grpc]'` (%s)" % (PROG, e))


def _run(client: ServingClient, args: argparse.Namespace) -> int:
    """Classifies or tags the text or the file; returns how many rows failed (only with --file)."""
    decoder = client.decoder  # metadata errors before any output
    if not decoder.takes_pairs(client.model_info) and (args.text_b is not None or args.text_b_column):
        raise InputError(decoder.single_texts if not decoder.pairs else
                         "the model was trained on single texts; it takes no second text")
    writer = make_writer(args.format, sys.stdout, decoder, single=args.file is None)
    if args.file is None:
        # Its error is the run's error.
        (result,) = client.iter_results([(args.text, args.text_b)])
        writer.write(result)
        writer.close()
        return 0
    # Line numbers of the examples handed to the client and not yet answered, oldest first.
    lines = collections.deque()  # type: Deque[int]

    def examples() -> Iterator[Tuple[str, Optional[str]]]:
        for number, text, text_b in read_numbered_examples(
            args.file, args.input_format, args.text_column, args.text_b_column
        ):
            lines.append(number)
            yield text, text_b

    progress = _progress_bar(args)
    failures = _FailureLog(args.file, progress)
    results = client.iter_results(examples(), progress.update, on_error="collect")
    try:
        for result in results:
            line = lines.popleft()
            failures.add(result, line)
            writer.write(result, line)
    finally:
        failures.flush()
        progress.close()
    writer.close()
    failures.summary()
    return failures.rows


class _FailureLog:
    """One stderr line per failed batch (its file lines and error), then a count of failed rows."""

    def __init__(self, path: str, progress) -> None:
        self.name = "<stdin>" if path == "-" else path
        self.progress = progress
        self.rows = 0
        self.total = 0
        self._error = None  # type: Optional[ServingClientError]
        self._lines = []  # type: List[int]

    def add(self, result: Any, line: int) -> None:
        self.total += 1
        error = result.error
        if error is not self._error:
            self.flush()
        if error is not None:
            self.rows += 1
            self._error = error
            self._lines.append(line)

    def flush(self) -> None:
        if self._error is not None:
            self._print("%s %s failed: %s" % (self.name, _line_ranges(self._lines), self._error))
        self._error, self._lines = None, []

    def summary(self) -> None:
        if self.rows:
            self._print("%d of %d rows failed; the other %d were written" % (self.rows, self.total, self.total - self.rows))

    def _print(self, message: str) -> None:
        self.progress.write("%s: error: %s" % (PROG, message), file=sys.stderr)


def _line_ranges(numbers: List[int]) -> str:
    """[2, 3, 4, 7] -> "lines 2-4, 7"."""
    spans = []  # type: List[List[int]]
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in spans)
    return ("line " if len(numbers) == 1 else "lines ") + text


def _progress_bar(args: argparse.Namespace):
    from tqdm import tqdm

    # disable=None: only when stderr is a terminal, so pipes and logs stay clean.
    return tqdm(
        total=count_examples(args.file, args.input_format),
        unit="text",
        disable=True if args.no_progress else None,
        file=sys.stderr,
    )


def _setup_logging(verbose: bool) -> Callable[[], None]:
    """Client warnings as `bert-classify: warning: ...` lines; returns the undo (main may run in-process)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    logger = logging.getLogger("serving_client")
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]

    return restore


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return "%s: %s: %s" % (PROG, record.levelname.lower(), record.getMessage())


def _labels(text: str) -> List[str]:
    labels = [label.strip() for label in text.split(",")]
    if not all(labels) or len(set(labels)) != len(labels):
        raise argparse.ArgumentTypeError("expected distinct, non-empty, comma-separated names, got %r" % text)
    return labels


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number from 0 to 1, got %r" % text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be from 0 to 1, got %s" % text)
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got %r" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %d" % value)
    return value


if __name__ == "__main__":
    sys.exit(main())

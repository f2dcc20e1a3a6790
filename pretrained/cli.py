"""`python -m pretrained fetch|convert|import|export-hf`: progress on stderr, results on stdout.

stdout carries only `--flag=value` lines, so `run_classifier.py $(python -m pretrained fetch) ...`
works; failures are one `error: ...` line and exit status 1. After `import` of a fine-tuned
classifier the flags name the run directory, so `run_classifier.py $(...) --do_export` (or
`run_ner.py` for a token classifier) exports it without training. `export-hf` goes the other
way and prints the Hugging Face directory it wrote.
"""

import argparse
import logging
import os
import sys
from typing import List, Optional

from pretrained.errors import PretrainedError
from pretrained.fetch import ALL_MINILM_L6_V2, CACHE_ENV
from pretrained.hf_heads import HEAD_CLASSES
from pretrained.hf_tokenizer import DEFAULT_MAX_SEQ_LENGTH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pretrained", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.required = True
    fetch = commands.add_parser(
        "fetch", help="download, verify and convert %s (once)" % ALL_MINILM_L6_V2.name)
    fetch.add_argument("--cache_dir", help="where the converted model goes (default: $%s, else "
                       "cache/pretrained/%s in the repository)" % (CACHE_ENV, ALL_MINILM_L6_V2.name))
    fetch.add_argument("--force", action="store_true", help="convert again even if the cache is complete")
    convert = commands.add_parser("convert", help="convert a local Hugging Face BERT directory")
    convert.add_argument("--hf_dir", required=True,
                         help="directory with config.json, model.safetensors, vocab.txt")
    convert.add_argument("--output_dir", required=True, help="where bert_config.json, vocab.txt "
                         "and bert_model.ckpt.* are written")
    convert.add_argument("--strict", action="store_true",
                         help="fail on tensors that have no bert/modeling.py variable")
    imported = commands.add_parser(
        "import", help="import a Hugging Face BERT or DistilBERT save_pretrained directory, with its "
        "sequence- or token-classification head")
    imported.add_argument("--hf_dir", required=True, help="config.json, weights (model.safetensors, tf_model.h5 "
                          "or pytorch_model.bin), vocab.txt or tokenizer.json, tokenizer_config.json")
    imported.add_argument("--output_dir", required=True, help="the run directory (with a head) or the "
                          "pretrained checkpoint directory (without) to write")
    imported.add_argument("--encoder_only", action="store_true",
                          help="import the encoder and drop the head (to fine-tune it here on other labels)")
    exported = commands.add_parser(
        "export-hf", help="write a fine-tuned classifier or tagger (an export, or a run's checkpoint) as a Hugging "
        "Face save_pretrained directory")
    source = exported.add_mutually_exclusive_group(required=True)
    source.add_argument("--export_dir", help="an export's version directory, or the export directory (its newest "
                        "version): labels, casing, max_seq_length and vocab come from the export")
    source.add_argument("--output_dir", help="a run's --output_dir: its latest checkpoint, label_list.txt and "
                        "task_kind.txt, with --vocab_file, --do_lower_case and --max_seq_length as the run had them")
    exported.add_argument("--hf_dir", required=True, help="the directory to write")
    exported.add_argument("--bert_config_file", required=True, help="the bert_config.json the model was trained with")
    exported.add_argument("--vocab_file", help="with --output_dir: the run's vocab (with --export_dir: checked)")
    exported.add_argument("--do_lower_case", type=_boolean, default=None,
                          help="with --output_dir: the run's casing (default true; with --export_dir: checked)")
    exported.add_argument("--max_seq_length", type=int, default=None,
                          help="with --output_dir: the run's length, the tokenizer's model_max_length (default 128)")
    exported.add_argument("--checkpoint", help="with --output_dir: this checkpoint instead of the latest")
    exported.add_argument("--init_checkpoint", help=argparse.SUPPRESS)  # ignored: lets $(pretrained fetch) be pasted
    exported.add_argument("--force", action="store_true", help="replace --hf_dir if it exists")
    return parser


def _boolean(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got %r" % value)


def export_hf_command(args) -> str:
    """Runs `export-hf`; returns the directory written."""
    from pretrained import trained_model
    from pretrained.hf_export import export_hf

    if args.export_dir:
        if args.checkpoint:
            raise PretrainedError("--checkpoint goes with --output_dir (an export has one set of weights)")
        model = trained_model.from_export(args.export_dir, args.bert_config_file)
        trained_model.check_flags(model, args.vocab_file, args.do_lower_case, args.max_seq_length)
    else:
        model = trained_model.from_run(
            args.output_dir, args.bert_config_file, args.vocab_file,
            True if args.do_lower_case is None else args.do_lower_case,
            args.max_seq_length or DEFAULT_MAX_SEQ_LENGTH, args.checkpoint)
    return export_hf(model, args.hf_dir, force=args.force)["hf_dir"]


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _quiet_tensorflow_python_logs()
    try:
        if args.command == "export-hf":
            print(export_hf_command(args))
            return 0
        if args.command == "fetch":
            from pretrained.fetch import fetch

            manifest = fetch(cache_dir=args.cache_dir, force=args.force)
        else:
            from pretrained.convert_hf import convert

            if args.command == "import":
                manifest = convert(args.hf_dir, args.output_dir, heads=True, encoder_only=args.encoder_only)
            else:
                manifest = convert(args.hf_dir, args.output_dir, strict=args.strict)
    except PretrainedError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the next run redoes the unfinished steps", file=sys.stderr)
        return 130
    for line in run_classifier_flags(manifest, imported=args.command == "import"):
        print(line)
    return 0


def run_classifier_flags(manifest, imported: bool = False) -> List[str]:
    """The flags that point run_classifier.py (or run_ner.py) at a converted checkpoint or imported run."""
    run_dir = manifest.get("output_dir")
    flags = ("bert_config_file", "vocab_file") + (("output_dir",) if run_dir else ("init_checkpoint",))
    lines = ["--%s=%s" % (flag, manifest[flag]) for flag in flags]
    if manifest.get("do_lower_case") is not None:
        lines.append("--do_lower_case=%s" % str(manifest["do_lower_case"]).lower())
    if imported:  # the tokenizer's length limit
        lines.append("--max_seq_length=%d" % manifest["max_seq_length"])
    task_name = manifest.get("head") and HEAD_CLASSES[manifest["head"]].task_name
    if task_name:
        lines.append("--task_name=%s" % task_name)  # the labels come from label_list.txt in the run directory
    if manifest.get("thresholds"):
        lines.append("--tune_thresholds=true")  # with --do_export alone: the thresholds.json the import wrote
    return lines


def _quiet_tensorflow_python_logs() -> None:
    """TF 1.15 logs deprecation notices for Saver/Variable; they drown the progress lines."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

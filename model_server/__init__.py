"""Local drop-in replacement for `tensorflow_model_server` (REST + gRPC).

See /work/shared/specs/tf-serving-contract.md for the contract it follows and
`python -m model_server --help` for its flags.
"""

__version__ = "0.1.0"

"""Start "the model server": the real `tensorflow_model_server` when it is on PATH,
this local server otherwise, with the same arguments.

    python -m model_server.launch --port=8500 --rest_api_port=8501 \
        --model_name=sms_spam --model_base_path=/abs/exports/sms_spam

MODEL_SERVER_BIN overrides the choice: a path/command name, or "local".
The process is replaced (exec), so signals reach the server directly.
"""

import os
import shutil
import sys

TFS_BINARY = "tensorflow_model_server"


def server_command(binary=None):
    """argv prefix of the server to run (see module docstring for the choice)."""
    choice = binary or os.environ.get("MODEL_SERVER_BIN", "")
    if choice == "local":
        return [sys.executable, "-m", "model_server"]
    if choice:
        return [choice]
    found = shutil.which(TFS_BINARY)
    return [found] if found else [sys.executable, "-m", "model_server"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = server_command() + list(argv)
    print("starting model server: %s" % " ".join(command), file=sys.stderr)
    sys.stderr.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()

"""Execute a notebook with nbclient and record every output message; run as a script by tests/test_notebook.py,
inside a network namespace with only loopback when the machine allows one (the kernel talks to nbclient over it).

    python tests/notebook_runner.py IN.ipynb OUT.ipynb MESSAGES.json WORKDIR

Writes the executed notebook (outputs in place, as Jupyter saves them) and a JSON list of ``[cell index, message
type, content]`` for every display_data, update_display_data, stream, execute_result and error message, in order.
Exit 0 when every cell ran, 1 with the error on stderr otherwise (the notebook and messages are written either way).
"""

from __future__ import annotations

import json
import sys

import nbclient
import nbformat

RECORDED = ("display_data", "update_display_data", "stream", "execute_result", "error")


class RecordingClient(nbclient.NotebookClient):
    """A NotebookClient that keeps each output message with the index of the cell that sent it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list[list] = []

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in RECORDED:
            self.messages.append([cell_index, msg["msg_type"], msg["content"]])
        return super().process_message(msg, cell, cell_index)


def main(argv: list[str]) -> int:
    src, out, messages, work = argv
    nb = nbformat.read(src, as_version=4)
    client = RecordingClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": work}})
    code = 0
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        print(str(e)[-4000:], file=sys.stderr)
        code = 1
    finally:
        nbformat.write(nb, out)
        with open(messages, "w", encoding="utf-8") as f:
            json.dump(client.messages, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

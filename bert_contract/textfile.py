"""UTF-8 text files every side reads (data files, vocabs): one error naming the line and column."""


class NotUtf8Error(ValueError):
    """A file that is not UTF-8; `line` and `column` (1-based) locate its first bad byte."""

    def __init__(self, path: str, line: int, column: int, byte: int):
        super().__init__(
            "%s:%d: not valid UTF-8 (byte 0x%02x at column %d); save the file as UTF-8" % (path, line, byte, column)
        )
        self.path, self.line, self.column, self.byte = path, line, column, byte


def read_utf8(path: str) -> str:
    """The file's text; OSError when it cannot be read, NotUtf8Error when it is not UTF-8."""
    with open(path, "rb") as f:
        raw = f.read()
    return decode_utf8(raw, path)


def decode_utf8(raw: bytes, path: str) -> str:
    """`read_utf8` of a file's bytes (e.g. a vocab a server sent); `path` names it in the error."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        raise NotUtf8Error(path, raw.count(b"\n", 0, e.start) + 1, e.start - line_start + 1, raw[e.start])

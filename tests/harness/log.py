"""Progress lines that reach the terminal even while pytest captures output."""
import sys
import time


def note(message: str) -> None:
    """Print ``[facteur-tests HH:MM:SS] message`` on the real stderr (pytest does not capture it)."""
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(f"[facteur-tests {time.strftime('%H:%M:%S')}] {message}\n")
        stream.flush()
    except (OSError, ValueError):  # closed stream at interpreter exit
        pass

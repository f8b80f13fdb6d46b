"""``python -m demo.sample_portal [--port N] [--data-dir DIR]``: run the sample portal."""

from __future__ import annotations

import argparse
from pathlib import Path

from demo.sample_portal.server import serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the bundled sample portal on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data-dir", type=Path, default=Path("data/sample_portal"))
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    serve_forever(args.data_dir, args.port, verbose=not args.quiet)


if __name__ == "__main__":
    main()

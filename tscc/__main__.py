"""Run the ``tscc`` command line as ``python -m tscc``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

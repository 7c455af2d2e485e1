"""`python -m facteur`: the command line."""

import sys

from facteur.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

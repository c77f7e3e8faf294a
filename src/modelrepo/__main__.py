"""`python -m modelrepo` runs the CLI."""

from .cli import main

main()

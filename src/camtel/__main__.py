"""`python -m camtel` is the `camtel` command."""

from camtel.cli import main

main()

"""`python -m camtel` is the `camtel` command."""

from camtel.entry import main

main()

"""``python -m simulator.cli``: the same as the ``wfsim`` entry point."""

from simulator.cli import main

main()

"""Command-line interface: one module per command, dispatched from facteur.cli.main."""

"""Subcommands of the ``neuralav`` command line, one module each.

Each module exposes ``add_arguments(parser)`` and ``run(args) -> int`` and a
one-line docstring used as its help.
"""

"""The ``mao`` command line."""

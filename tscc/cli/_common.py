"""What every subcommand shares: the program's name and the user's errors."""

PROG = "tscc"


class UserError(Exception):
    """A problem with the command's input, reported without a traceback."""

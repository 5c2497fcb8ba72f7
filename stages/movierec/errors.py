"""The one error a user can fix: a file, param, argument or answer is wrong, and the message says how."""


class UserInputError(Exception):
    """Something the user controls (a file, a param, an argument) is wrong; the message says how."""

"""The one exception of the data package."""


class DataError(ValueError):
    """A data file is missing, damaged or not what it claims to be. The message names the file."""

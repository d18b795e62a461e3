"""The one exception the dataset code raises when a file or an array is not what it should be."""


class DatasetError(ValueError):
    """A dataset is missing, damaged, inconsistent or made for something else.

    The message always says what is wrong and what to do about it (usually: the command that
    regenerates the file). It subclasses ``ValueError`` so existing ``except ValueError`` code
    keeps working.
    """

"""Problems with a whole file (as opposed to one record, which is quarantined on its own)."""


class FileRejectedError(Exception):
    """The file cannot be loaded as a whole; ``field`` names the offending column when there is one."""

    def __init__(self, reason: str, field: str = "*") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

"""Who may read an embedded store's files: its owner only, or its owner and group.

A store keeps decision inputs (personal data) and its audit signing key, so nothing in it is
ever readable by other users, whatever the umask of the process that wrote it. The store
folder's own mode says which of the two a store is (group: the folder grants its group
read, write and search), so every process that opens it applies the same policy without
being told. Pure rules, standard library only.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreMode:
    """The modes a store's folders and files are created with, and the widest allowed."""

    name: str
    folder: int  # new folders
    file: int  # new files that change (the database, locks, keys, uploads in progress)
    sealed: int  # files written once (blobs, checkpoint exports)
    widest: int  # permission bits any entry may carry

    def excess(self, mode: int) -> int:
        """The permission bits of `mode` beyond what this policy allows (0: none)."""
        return stat.S_IMODE(mode) & 0o777 & ~self.widest


PRIVATE = StoreMode("private", folder=0o700, file=0o600, sealed=0o400, widest=0o700)
GROUP = StoreMode("group", folder=0o2770, file=0o660, sealed=0o440, widest=0o770)
"""Folders set-group-ID, so what is created in them belongs to the store's group."""


def mode_of_store(folder_mode: int) -> StoreMode:
    """The policy of a store whose folder has `folder_mode`: group if the folder grants its
    group read, write and search, private otherwise (an older 0755 store included, whose
    wider entries `fsck` reports)."""
    return GROUP if folder_mode & 0o070 == 0o070 else PRIVATE

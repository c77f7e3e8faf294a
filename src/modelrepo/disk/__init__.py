"""The local disk under an embedded store, shared by the metadata and blob adapters: files
and folders made with the store's modes (`modes`), and the disk's faults in words
(`faults`)."""

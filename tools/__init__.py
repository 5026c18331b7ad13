"""Developer tools for the backendops.stack collection (not shipped with the collection)."""

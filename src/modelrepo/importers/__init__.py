"""Importers: versions and deployment history brought in from other registries."""

"""Leaves every layer may import: errors, atomic writes, hashing, versions, logging setup."""

"""Opioid prescribing comparators for GP practices in England, from NHSBSA open data."""

__version__ = "0.1.0"

"""Devices, their groups, the pending list of unknown devices, and their positions."""

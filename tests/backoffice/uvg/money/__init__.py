"""Tests of the UVG payment run and recovery (Rückgriff)."""

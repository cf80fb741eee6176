"""Tests of the UVG case: checklist, calculation, decision, Bescheid, changes."""

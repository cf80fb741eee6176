"""Unterhaltsvorschuss (UVG): eligibility, calculation, decision, payments, recovery."""

"""Generic decisions (Bescheide) for every Fachbereich, their delivery, and objections to them."""

"""The online application for Unterhaltsvorschuss (UVG): questions, documents, submission."""

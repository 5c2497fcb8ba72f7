"""recommend.py's library: provenance, the catalogue and title matching, profiles, the session."""

"""Top-N lists: the one ranking path, and the movie similarity it uses."""

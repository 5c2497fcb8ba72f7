"""Per-movie features: TF-IDF over genre and tag tokens, release year, popularity."""

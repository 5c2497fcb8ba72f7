"""Loading and checking MovieLens data: the CSV loader, ids, the split, the download, TMDB."""

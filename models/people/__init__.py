"""Finding people on a static camera: foreground, blobs, people, tracks.

    finder = PersonFinder(FinderConfig())
    for frame in frames:                       # (H, W, 3) RGB uint8, in time order
        found = finder.apply(frame)            # found.people: tracked Person boxes and masks
        found.warming_up, found.relearning     # the background is not to be trusted yet

The parts, each usable alone: :mod:`.foreground` (MOG2 with shadows, light changes and camera
shake handled), :mod:`.blobs` (connected components), :mod:`.grouping` (fragments of one body
merged, non-person blobs refused, the site's person height per image row), :mod:`.tracking`
(track ids with a short memory), joined by :mod:`.finder`.
"""

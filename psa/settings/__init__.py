"""Settings come from the environment (django-environ); see the README's table.

``base`` holds everything shared; ``dev``, ``test`` and ``production`` adjust it.
"""

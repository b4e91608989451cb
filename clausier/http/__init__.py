"""What the API and the pages share, below both: a session on the store per request, the bounds
on what a request sends, the security headers, the client's address, and the status each domain
error answers with. ``clausier.app`` assembles the API and the pages on top of it. A reference
in an address may hold slashes (``refs``: the ``{ref:ref}`` of the
routes, registered on import).
"""

from clausier.http import refs as refs

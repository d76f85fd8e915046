"""Files and knowledge bases, in rooms of one concern each.

- `_records`: the typed records and the readers of the server's answers; the connection's cache.
- `_names`: knowledge bases named as a person writes them; `files=` as Open WebUI's items.
- `_failures`: who can fix a failed processing; the server's "not found".
- `_waiting`: the wait for processing, and the upload's decisions, without I/O.
- `_service`: the exchanges, as plans the client runs.

Open WebUI processes an upload in the background (extract the text, split it, embed the
chunks); a file is usable in a chat or a knowledge base once its status is `completed`. The wait
polls the status, first after a few milliseconds and then at intervals of a tenth of the time
waited so far, and hands long waits to the server's status stream.
"""

__all__: list[str] = []  # the rooms are imported by name; the records are public at the top

"""Review and delivery (spec §8): the chosen take of each group, and the copy handed over.

    picks.py    <manifest stem>.picks.yaml beside the manifest: group -> the entry picked
    export.py   the done videos copied out, each verified by sha256 (names.py: their names)
    sheet.py    delivery.csv and delivery.json, what was delivered and what it cost
    groups.py   which group an entry belongs to, and its take: the one place that asks
    videos.py   an entry's verified video, and why an entry has none to deliver

Nothing here reaches the service: it reads the manifest, the state store and the files a run
left, and writes only the picks file and the export folder.
"""

"""Bounties with several winners: posters pay winners themselves, on chain, and prove it.

One file per thing: `status.py` (the one status function and the write rules), `model.py`
(keys, ids, views), `index.py` (listing index items), `actions.py` (signed actions), one file per
transition (`create`, `submit`, `accept`, `pay`, `cancel`), `listing.py` and `reads.py`.
No chalice import here; the routes are in `chalicelib/api/bounty_routes.py`.
"""

"""The faucet: rate-limited drips, and event claim codes that pay exactly once.

Every money movement here is a payout intent written in the same DynamoDB transaction as the
flow's own state change (a rate-limit slot taken, a code claimed); the payout engine sends it and
the finalizers in `finalizer.py` apply its outcome. No module here imports chalice or web3.
"""

"""Settlekit: settlement flows (faucet, bounties, OTC, anchoring) on one DynamoDB table."""

VERSION = "0.1.0"

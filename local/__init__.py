"""The local stack (not deployed): DynamoDB-compatible server, chain node, bootstrap, dev loop."""

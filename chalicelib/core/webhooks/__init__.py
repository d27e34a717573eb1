"""Signed webhooks for integrators: an outbox of events, endpoints, and the delivery job.

Rule 15: a flow adds `event_op(...)` to the very transaction that changes the state the event
reports, so an event exists if and only if the state change does. The delivery job fans each
event out to the endpoints subscribed to it and POSTs it, signed, retrying with backoff.

Core never imports a flow: flows register their event types (`register_event_type`) and, where
one event stands for many (a batch for its messages), an expander.
"""

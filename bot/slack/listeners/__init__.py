"""Slack listeners: each acks (bolt acks events itself), then delegates to plain functions."""

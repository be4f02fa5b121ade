"""Feedback from anyone on a published dataset (an error spotted, a question), answered by its provider."""

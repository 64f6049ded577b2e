"""Shared knowledge (issue #19): one answer per fact, found for a customer's message and rendered
for a channel, a language and a person. See README.md, section "Knowledge"."""

"""Moving a set-up over from Segment: its Public API exports -> this processor's configuration.

- :mod:`.segment_export` reads the JSON Segment's Public API returns (a destination, pages of
  its subscriptions, or a bare list of subscriptions) into one ordered :class:`Export`;
- :mod:`.fetch` gets the same documents from the Public API itself, given a token;
- :mod:`.translate` turns an export into a configuration document and a per-subscription
  report (imported / imported with warnings / refused), checked as ``check-config`` checks offline.

Nothing here runs per event; nothing here knows Kafka.
"""

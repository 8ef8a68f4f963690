"""Run the whole copydesk stack on one machine: embedded Redis, intake and workers.

``make run`` and the end-to-end tests both start the stack through here, so the tests
exercise the very path a newcomer uses.
"""

"""The citizen's postbox: every letter and request of the office, read or unread.

It lives in the base package so every layer can post into it (clearing asks for documents,
backoffice delivers Bescheide) without importing the portal, which only reads it.
"""

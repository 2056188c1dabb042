"""Handover interfaces: pure codecs (bytes -> deliveries, and back) and the asyncio listeners.

A codec never touches the database, the clock or a socket.
"""

"""The legal core: pure rules over frozen dataclasses.  No I/O, no clock, no ORM.

Every rule names its id from LEGAL-RULES.md (A1…G3) in its docstring.
"""

"""Small helpers for the pictures people see: a CJK font for matplotlib."""

"""`blade train` and `blade quickstart`: every stage for a domain, with the recipe's defaults
(declared once, `recipe`) and the time estimate said before training."""

"""dlbook: the runnable code behind the interactive deep-learning book.

One module per topic (`init`, `activations`, ...), plus `widgets` (interactive figures),
`plot` (the house style), `data` (checksum-verified datasets) and `train` (a small torch loop).
Import the modules you need: `from dlbook import init, widgets`. Importing has no side effects.
"""
__version__ = "0.1.0"

"""gdc: a symbolic-to-numeric derivation compiler for gradient descent.

Importing gdc is cheap: sympy and lark load only when a model has to be derived or compiled.
"""

__version__ = "0.1.0"

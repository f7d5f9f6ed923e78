"""Stage 1, text → checked model: the vocabulary, parser, IR, lowering and checks (lark, no sympy)."""

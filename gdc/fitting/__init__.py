"""Stage 5, problem + options → result: methods, the loops that drive them, and the report."""

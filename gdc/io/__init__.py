"""Files in and out: data files to named columns, and writes that never lose what a user had."""

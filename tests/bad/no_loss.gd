model y = m*x + b
# the loss is missing

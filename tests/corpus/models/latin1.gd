model y = m*x + b  # café
loss mean((y - Y)^2)

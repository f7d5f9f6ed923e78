model y = m*x + b[2J
loss mean((y - Y)^2)

model y = m*x + b
loss mean((x - Y)^2)

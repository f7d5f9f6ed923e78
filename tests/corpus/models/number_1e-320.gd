model y = m*x + 1e-320
loss mean((y - Y)^2)

model y = m*x + 1e400
loss mean((y - Y)^2)

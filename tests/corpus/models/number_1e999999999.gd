model y = m*x + 1e999999999
loss mean((y - Y)^2)

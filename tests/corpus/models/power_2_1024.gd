model y = m*x + 2^1024*b
loss mean((y - Y)^2)

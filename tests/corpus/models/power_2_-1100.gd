model y = m*x + 2^-1100*b
loss mean((y - Y)^2)

model y = m*x + b
loss mean((y - Y)^2)
í €
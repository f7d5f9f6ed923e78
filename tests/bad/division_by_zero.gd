model y = m*x/0 + b
loss mean((y - Y)^2)

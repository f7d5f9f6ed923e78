model y = exp*x + b
loss mean((y - Y)^2)

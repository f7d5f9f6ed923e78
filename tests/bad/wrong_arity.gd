model y = max(m*x + b)
loss mean((y - Y)^2)
